#pragma once
// Shared by the api/ sources: the dataset handle's internals and the translation of tiergnn's
// internal exceptions (core/error.hpp) into the public tiergnn::error.
#include <exception>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "tiergnn/dataset.hpp"

namespace tiergnn {

struct dataset::impl {
  tg::dataset d;
  std::vector<std::int64_t> order;  // prepared datasets: new -> original id (node keys); else empty
};

namespace detail {

// A handle's implementation, or error(kind::input) for a handle that was moved from (it holds
// nothing; using it must not dereference a null pointer).
template <typename P>
const P& live(const P& p, const char* what) {
  if (!p) throw error(error::kind::input, std::string(what) + ": used after being moved from (it holds nothing)");
  return p;
}

// The internals behind a public dataset handle (api/ sources only).
struct access {
  using dataset_impl = dataset::impl;
  static const dataset_impl& internals(const dataset& d) { return *live(d.impl_, "tiergnn::dataset"); }
};
inline const access::dataset_impl& internals(const dataset& d) {
  return access::internals(d);
}

// Runs f(); rethrows tg::* exceptions (and allocation failures) as tiergnn::error.
template <typename F>
auto translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const tiergnn::error&) {
    throw;
  } catch (const tg::input_error& e) {
    throw error(error::kind::input, e.what());
  } catch (const tg::budget_error& e) {
    throw error(error::kind::budget, e.what());
  } catch (const tg::io_error& e) {
    throw error(error::kind::io, e.what());
  } catch (const tg::interrupted_error& e) {
    throw error(error::kind::interrupted, e.what());
  } catch (const tg::cuda_error& e) {
    throw error(error::kind::device, e.what());
  } catch (const tg::error& e) {
    throw error(error::kind::internal, e.what());
  } catch (const std::bad_alloc&) {
    throw error(error::kind::budget, "out of host memory");
  }
}

tiergnn::dtype public_dtype(tg::dtype t);
array_view view_of(const tg::npy_array& a);

}  // namespace detail
}  // namespace tiergnn
