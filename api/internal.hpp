#pragma once
// Shared by the api/ sources: the dataset handle's internals and the translation of tiergnn's
// internal exceptions (core/error.hpp) into the public tiergnn::error.
#include <cstring>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/temp_files.hpp"
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
  if (!p)
    throw error(error::kind::input, std::string(what) +
                                        ": an empty handle (default-constructed, or moved from): it holds nothing; "
                                        "open or construct one first");
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

// Runs f(); rethrows tg::* exceptions (and allocation failures) as tiergnn::error, naming outputs
// rather than the temporaries they are written under (as the command line does).
template <typename F>
auto translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const tiergnn::error&) {
    throw;
  } catch (const tg::input_error& e) {
    throw error(error::kind::input, tg::with_output_names(e.what()));
  } catch (const tg::budget_error& e) {
    throw error(error::kind::budget, tg::with_output_names(e.what()));
  } catch (const tg::io_error& e) {
    throw error(error::kind::io, tg::with_output_names(e.what()));
  } catch (const tg::interrupted_error& e) {
    throw error(error::kind::interrupted, tg::with_output_names(e.what()));
  } catch (const tg::cuda_error& e) {
    throw error(error::kind::device, tg::with_output_names(e.what()));
  } catch (const tg::error& e) {
    throw error(error::kind::internal, tg::with_output_names(e.what()));
  } catch (const std::filesystem::filesystem_error& e) {
    throw error(error::kind::io, tg::with_output_names(tg::filesystem_error_text(e)));
  } catch (const std::bad_alloc&) {
    throw error(error::kind::budget, "out of host memory");
  }
}

// The messages of tiergnn's core name the command line's options (--gpu-mem, --force); through the
// API they name the fields of prepare_options / profile_options (and the Python keywords) instead.
inline std::string with_api_option_names(std::string m) {
  static const std::pair<const char*, const char*> names[] = {
      {"pass --force to replace it", "set overwrite to replace it"},
      {"--force", "overwrite"},
      {"--gpu-mem", "gpu_mem"},
      {"--host-mem", "host_mem"},
      {"--batch-size", "batch_size"},
      {"--fanouts", "fanouts"},
      {"--estimator", "estimator"},
      {"--hidden", "hidden"},
      {"--model", "model"},
      {"--out-heads", "out_heads"},
      {"--heads", "heads"},
      {"--epochs", "run_epochs"},
      {"--seed", "seed"}};
  for (const auto& [cli, api] : names)
    for (std::size_t at = m.find(cli); at != std::string::npos; at = m.find(cli, at + std::strlen(api)))
      m.replace(at, std::strlen(cli), api);
  return m;
}

// translate(), for the calls that take an options struct: the error names its fields.
template <typename F>
auto translate_options(F&& f) -> decltype(f()) {
  try {
    return translate(std::forward<F>(f));
  } catch (const error& e) {
    throw error(e.code(), with_api_option_names(e.what()));
  }
}

tiergnn::dtype public_dtype(tg::dtype t);
array_view view_of(const tg::npy_array& a);

}  // namespace detail
}  // namespace tiergnn
