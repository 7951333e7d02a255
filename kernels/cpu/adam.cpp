// CPU Adam step (see kernels/adam.hpp).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>

#include "kernels/adam.hpp"

namespace tg {

template <typename T>
void adam_step(T* param, const T* grad, T* m, T* v, std::int64_t n, const adam_config& cfg, std::int64_t step) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  const T b1 = static_cast<T>(cfg.beta1), b2 = static_cast<T>(cfg.beta2), wd = static_cast<T>(cfg.weight_decay);
  const T step_size = static_cast<T>(cfg.lr / bc1), inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
  const T eps = static_cast<T>(cfg.eps);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      const T g = grad[i] + wd * param[i];
      m[i] = b1 * m[i] + (T(1) - b1) * g;
      v[i] = b2 * v[i] + (T(1) - b2) * g * g;
      param[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  });
}

template void adam_step<float>(float*, const float*, float*, float*, std::int64_t, const adam_config&, std::int64_t);
template void adam_step<double>(double*, const double*, double*, double*, std::int64_t, const adam_config&,
                                std::int64_t);

}  // namespace tg
