#pragma once
// Shared by the CPU kernel tests (kernels_test.cpp, attention_test.cpp): seeded random inputs and
// gradient checks by central finite differences of a scalar objective L = sum(out * R), in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace tg::test {

// Uniform values in [lo, hi) from a seeded counter-based stream.
template <typename T>
std::vector<T> random_vec(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0,
                          std::uint64_t stream = 17) {
  counter_rng rng(seed, stream);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(lo + (hi - lo) * rng.uniform(i));
  return v;
}

// sum(a * b) in long double, so the objective's own rounding stays far below the FD tolerance.
inline double weighted_sum(const std::vector<double>& a, const std::vector<double>& b) {
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
  return static_cast<double>(s);
}

// Central difference of f with respect to x[i].
inline double central_diff(const std::function<double()>& f, double& xi, double eps = 1e-6) {
  const double saved = xi;
  xi = saved + eps;
  const double fp = f();
  xi = saved - eps;
  const double fm = f();
  xi = saved;
  return (fp - fm) / (2 * eps);
}

// Root mean square of a gradient: the scale the FD error is measured against, so entries that are
// exactly or nearly zero do not demand an impossible relative precision.
inline double rms(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s += x * x;
  return g.empty() ? 0.0 : std::sqrt(s / static_cast<double>(g.size()));
}

inline void expect_grad_close(double numeric, double analytic, double scale, double rtol, const std::string& what) {
  EXPECT_LE(std::abs(numeric - analytic), rtol * std::max(std::abs(analytic), scale))
      << what << ": numeric " << numeric << " analytic " << analytic;
}

// Checks every entry of the analytic gradient `grad` of f with respect to `x`.
inline void check_all_entries(const std::function<double()>& f, std::vector<double>& x, const std::vector<double>& grad,
                              double rtol, const std::string& what) {
  ASSERT_EQ(x.size(), grad.size());
  const double scale = std::max(rms(grad), 1e-3);
  for (std::size_t i = 0; i < x.size(); ++i)
    expect_grad_close(central_diff(f, x[i]), grad[i], scale, rtol, what + "[" + std::to_string(i) + "]");
}

}  // namespace tg::test
