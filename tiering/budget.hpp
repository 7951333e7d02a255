#pragma once
// Memory budgets as users write them: bytes with an optional K/M/G/T suffix (powers of 1024;
// "KiB"/"KB" accepted), or a share of the feature bytes ("10%", or a plain fraction "0.1").
#include <cstdint>
#include <string>

namespace tg {

struct budget {
  enum class kind { bytes, fraction } type = kind::bytes;
  std::uint64_t bytes = 0;
  double fraction = 0;

  // Bytes this budget grants for a store of `total_bytes`.
  std::uint64_t resolve(std::uint64_t total_bytes) const;
  std::string to_string() const;
};

// Throws input_error naming `what` (e.g. "--gpu-mem") and the text on anything unparsable or negative.
budget parse_budget(const std::string& text, const std::string& what);

}  // namespace tg
