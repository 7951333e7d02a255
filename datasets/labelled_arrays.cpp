#include "datasets/labelled_arrays.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/resources.hpp"

namespace tg::labelled {

namespace fs = std::filesystem;

namespace {

std::string range_text(std::int64_t n) {
  return "[0, " + std::to_string(n) + ")";
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// Calls f(const T*) with the elements of an integer array; other dtypes are input errors.
template <typename F>
void with_ints(const npy_array& a, F&& f) {
  switch (a.type()) {
    case dtype::int8:
      f(static_cast<const std::int8_t*>(a.raw()));
      break;
    case dtype::uint8:
      f(static_cast<const std::uint8_t*>(a.raw()));
      break;
    case dtype::int16:
      f(static_cast<const std::int16_t*>(a.raw()));
      break;
    case dtype::uint16:
      f(static_cast<const std::uint16_t*>(a.raw()));
      break;
    case dtype::int32:
      f(static_cast<const std::int32_t*>(a.raw()));
      break;
    case dtype::uint32:
      f(static_cast<const std::uint32_t*>(a.raw()));
      break;
    case dtype::int64:
      f(static_cast<const std::int64_t*>(a.raw()));
      break;
    case dtype::uint64:
      f(static_cast<const std::uint64_t*>(a.raw()));
      break;
    default:
      throw input_error(
          at_input(a.name(), "dtype is " + std::string(dtype_name(a.type())) + ", expected an integer dtype"));
  }
}

// An unsigned value above INT64_MAX becomes negative and so fails every range check.
template <typename T>
std::int64_t as_id(T x) {
  if constexpr (std::is_same_v<T, std::uint64_t>)
    return x > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? std::int64_t{-1}
                                                                                    : static_cast<std::int64_t>(x);
  else
    return static_cast<std::int64_t>(x);
}

}  // namespace

std::string absolute_path(const std::string& p) {
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string file_stem(const std::string& p) {
  fs::path f = fs::path(p).lexically_normal();
  if (f.filename().empty()) f = f.parent_path();
  std::string s = f.filename().string();
  for (const char* ext : {".gz", ".npz", ".csv", ".json"}) {
    const std::string e = ext;
    if (s.size() > e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0) s.resize(s.size() - e.size());
  }
  return s;
}

std::int64_t scalar_int(const npy_array& a) {
  if (a.count() != 1)
    throw input_error(at_input(a.name(), "expected a single number, found shape " + shape_text(a.shape())));
  std::int64_t v = 0;
  bool too_large = false;
  with_ints(a, [&](const auto* p) {
    v = as_id(p[0]);
    if constexpr (std::is_unsigned_v<std::remove_const_t<std::remove_pointer_t<decltype(p)>>>) too_large = v < 0;
  });
  if (too_large) throw input_error(at_input(a.name(), "the count is past 2^63 - 1, more than any graph can hold"));
  if (v < 0) throw input_error(at_input(a.name(), "node count " + std::to_string(v) + " is negative"));
  return v;
}

bool edges_are_rows(const npy_array& e) {
  if (e.ndim() == 2 && e.shape()[0] == 2) return false;
  if (e.ndim() == 2 && e.shape()[1] == 2) return true;
  throw input_error(at_input(e.name(), "shape is " + shape_text(e.shape()) + ", expected 2 x E or E x 2"));
}

std::int64_t edge_count(const npy_array& e, bool rows) {
  return rows ? e.shape()[0] : e.shape()[1];
}

std::int64_t max_endpoint(const npy_array& e) {
  std::int64_t mx = -1;
  with_ints(e, [&](const auto* p) {
    const std::int64_t m = e.count();
    for (std::int64_t i = 0; i < m; ++i) {
      const std::int64_t x = as_id(p[i]);
      if (x < 0) {
        if constexpr (std::is_unsigned_v<std::decay_t<decltype(p[i])>>)  // only a value above 2^63 - 1 gets here
          throw input_error(at_input(e.name(), "element " + std::to_string(i) + " (" + std::to_string(p[i]) +
                                                   ") is outside the range of node ids (at most 2^63 - 1)"));
        throw input_error(
            at_input(e.name(), "element " + std::to_string(i) + " is a negative node id (" + std::to_string(x) + ")"));
      }
      mx = std::max(mx, x);
    }
  });
  return mx;
}

void add_edges(csr_builder& b, const npy_array& e, bool rows, std::int64_t n) {
  const std::int64_t m = edge_count(e, rows);
  with_ints(e, [&](const auto* p) {
    for (std::int64_t i = 0; i < m; ++i) {
      const auto raw_u = rows ? p[2 * i] : p[i];
      const auto raw_v = rows ? p[2 * i + 1] : p[m + i];
      const std::int64_t u = as_id(raw_u), v = as_id(raw_v);
      if (u < 0 || u >= n || v < 0 || v >= n)  // the values as the file holds them (2^64 - 1, not -1)
        throw input_error(at_input(e.name(), "edge " + std::to_string(i) + " (" + std::to_string(raw_u) + ", " +
                                                 std::to_string(raw_v) + ") has an endpoint outside " + range_text(n)));
      b.add(u, v);
    }
  });
}

std::vector<std::int64_t> labels_from_array(const npy_array& a, std::int64_t n, const std::string& n_from) {
  if (!(a.ndim() == 1 || (a.ndim() == 2 && a.shape()[1] == 1)))
    throw input_error(
        at_input(a.name(), "shape is " + shape_text(a.shape()) + ", expected (N,) or (N, 1) (one label per node)"));
  if (a.shape()[0] != n)
    throw input_error(at_input(
        a.name(), "has " + std::to_string(a.shape()[0]) + " labels but there are " + std::to_string(n) + " nodes" +
                      // Which array set the count: a short feature array is as likely the culprit (R11-F7).
                      (n_from.empty() ? std::string() : " (the node count from " + n_from + ")")));
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  if (is_integer(a.type())) {
    with_ints(a, [&](const auto* p) {
      for (std::int64_t i = 0; i < n; ++i) {
        // Negative labels mean "unlabelled"; an unsigned value past INT64_MAX is not -1 but a huge class.
        if constexpr (std::is_same_v<std::decay_t<decltype(*p)>, std::uint64_t>)
          if (p[i] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw input_error(at_input(
                a.name(), "label " + std::to_string(p[i]) + " of node " + std::to_string(i) + " is not a class index"));
        out[i] = std::max<std::int64_t>(as_id(p[i]), -1);
      }
    });
    return out;
  }
  if (!is_float(a.type()))
    throw input_error(
        at_input(a.name(), "dtype is " + std::string(dtype_name(a.type())) + ", expected integer or float labels"));
  const std::vector<float> f = a.type() == dtype::float64 ? std::vector<float>() : a.to_float32();
  const double* d = a.type() == dtype::float64 ? static_cast<const double*>(a.raw()) : nullptr;
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = d ? d[i] : static_cast<double>(f[i]);
    if (std::isnan(x) || x < 0) {
      out[i] = -1;
    } else if (x != std::floor(x) || x >= 9007199254740992.0) {
      throw input_error(
          at_input(a.name(), "label " + std::to_string(x) + " of node " + std::to_string(i) + " is not a class index"));
    } else {
      out[i] = static_cast<std::int64_t>(x);
    }
  }
  return out;
}

std::int64_t write_features(dataset_writer& w, const npy_array& a, std::int64_t n) {
  if (a.ndim() != 2)
    throw input_error(at_input(a.name(), "shape is " + shape_text(a.shape()) + ", expected N x D features"));
  const std::int64_t rows = a.shape()[0], d = a.shape()[1];
  if (rows != n)
    throw input_error(at_input(
        a.name(), "has " + std::to_string(rows) + " feature rows but there are " + std::to_string(n) + " nodes"));
  if (d <= 0) throw input_error(at_input(a.name(), "feature rows have no columns"));
  const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 22) / d);
  // float16 stays float16 (the dataset format holds it, at half the bytes); every other type becomes
  // float32.
  if (a.type() == dtype::float16) {
    npy_writer out(w.path("features.npy"), dtype::float16, {d});
    const auto* p = static_cast<const float16_t*>(a.raw());
    for (std::int64_t r0 = 0; r0 < rows; r0 += chunk) {
      const std::int64_t r1 = std::min(rows, r0 + chunk);
      for (std::int64_t i = r0 * d; i < r1 * d; ++i)
        if (!std::isfinite(half_to_float(p[i].bits)))
          throw input_error(at_input(
              a.name(), "non-finite feature at row " + std::to_string(i / d) + ", column " + std::to_string(i % d)));
      out.append(p + r0 * d, r1 - r0);
    }
    out.finish();
    w.meta().feature_dim = d;
    w.meta().feature_dtype = dtype::float16;
    return d;
  }
  std::vector<float> buf;
  npy_writer out(w.path("features.npy"), dtype::float32, {d});
  // Integer features become float32, which holds integers exactly only up to 2^24 in magnitude.
  std::int64_t inexact = 0, first_inexact = -1;
  // float64 values too small for float32 (below 1.2e-38 in magnitude) flush towards 0.
  std::int64_t underflow = 0, first_underflow = -1;
  auto emit = [&](const auto* p) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
    for (std::int64_t r0 = 0; r0 < rows; r0 += chunk) {
      const std::int64_t r1 = std::min(rows, r0 + chunk);
      const std::size_t cnt = static_cast<std::size_t>((r1 - r0) * d);
      const T* src = p + r0 * d;
      const float* rowp;
      if constexpr (std::is_same_v<T, float>) {
        rowp = src;
      } else {
        buf.resize(cnt);
        for (std::size_t i = 0; i < cnt; ++i) {
          if constexpr (std::is_same_v<T, float16_t>) {
            buf[i] = half_to_float(src[i].bits);
          } else {
            buf[i] = static_cast<float>(src[i]);
            if constexpr (std::is_same_v<T, double>) {
              if (below_float32(src[i])) {
                if (first_underflow < 0) first_underflow = r0 * d + static_cast<std::int64_t>(i);
                ++underflow;
              }
            }
            if constexpr (std::is_integral_v<T>) {
              constexpr T kExact = T{1} << (sizeof(T) >= 4 ? 24 : 0);
              if (sizeof(T) >= 4 && (src[i] > kExact || (std::is_signed_v<T> && src[i] < -kExact))) {
                if (first_inexact < 0) first_inexact = r0 * d + static_cast<std::int64_t>(i);
                ++inexact;
              }
            }
          }
        }
        rowp = buf.data();
      }
      for (std::size_t i = 0; i < cnt; ++i)
        if (!std::isfinite(rowp[i])) {
          // A finite value of a wider type that float32 cannot hold (|x| > 3.4e38) is said so.
          bool finite_source = false;
          if constexpr (std::is_floating_point_v<T>) finite_source = std::isfinite(static_cast<double>(src[i]));
          throw input_error(at_input(
              a.name(),
              std::string(finite_source ? "feature too large for float32 (|x| > 3.4e38)" : "non-finite feature") +
                  " at row " + std::to_string(r0 + static_cast<std::int64_t>(i) / d) + ", column " +
                  std::to_string(static_cast<std::int64_t>(i) % d)));
        }
      out.append(rowp, r1 - r0);
    }
  };
  switch (a.type()) {
    case dtype::float32:
      emit(static_cast<const float*>(a.raw()));
      break;
    case dtype::float64:
      emit(static_cast<const double*>(a.raw()));
      break;
    case dtype::float16:
      emit(static_cast<const float16_t*>(a.raw()));
      break;
    case dtype::boolean:
      emit(static_cast<const std::uint8_t*>(a.raw()));
      break;
    default:
      if (!is_integer(a.type()))
        throw input_error(
            at_input(a.name(), "dtype " + std::string(dtype_name(a.type())) + " cannot be used as features"));
      with_ints(a, emit);
  }
  if (a.type() != dtype::float32 && a.type() != dtype::float64)
    log_info(a.name(), ": ", dtype_name(a.type()), " features stored as float32");
  warn_below_float32(
      a.name(), underflow, "float64 ",
      "at row " + std::to_string(first_underflow / d) + ", column " + std::to_string(first_underflow % d));
  if (inexact > 0)
    log_warn(a.name(), ": ", inexact, " integer feature value(s) exceed 2^24 in magnitude (the first at row ",
             first_inexact / d, ", column ", first_inexact % d,
             ") and may be rounded in float32, which holds integers exactly only up to 16,777,216");
  out.finish();
  w.meta().feature_dim = d;
  w.meta().feature_dtype = dtype::float32;
  return d;
}

void warn_below_float32(const std::string& input, std::int64_t count, const char* type, const std::string& first) {
  if (count > 0)
    log_warn(input, ": ", count, " ", type,
             "feature value(s) are smaller in magnitude than float32 holds (1.2e-38; the first ", first,
             ") and become 0 or lose precision in float32: rescale the features if they matter");
}

split_ids ids_from_array(const npy_array& a) {
  if (!(a.ndim() == 1 || (a.ndim() == 2 && a.shape()[1] == 1)))
    throw input_error(at_input(a.name(), "shape is " + shape_text(a.shape()) + ", expected a list of node ids"));
  if (!is_integer(a.type()))
    throw input_error(
        at_input(a.name(), "dtype is " + std::string(dtype_name(a.type())) + ", expected integer node ids" +
                               (a.type() == dtype::boolean ? " (a boolean mask belongs under a *_mask key)" : "")));
  split_ids s;
  s.present = true;
  s.from = a.name();
  s.ids = a.to_int64();
  return s;
}

split_ids ids_from_mask(const npy_array& m, int split, std::int64_t n) {
  if (m.type() != dtype::boolean && !is_integer(m.type()))
    throw input_error(
        at_input(m.name(), "dtype is " + std::string(dtype_name(m.type())) + ", expected a boolean mask"));
  const std::vector<std::int64_t> v = m.to_int64();
  split_ids s;
  s.present = true;
  s.from = m.name();
  std::int64_t k = 1;
  bool by_row = true;
  if (m.ndim() == 1) {
    if (m.shape()[0] != n)
      throw input_error(at_input(m.name(), "mask has " + std::to_string(m.shape()[0]) + " entries but there are " +
                                               std::to_string(n) + " nodes"));
  } else if (m.ndim() == 2 && m.shape()[1] == n) {
    k = m.shape()[0];
  } else if (m.ndim() == 2 && m.shape()[0] == n) {
    k = m.shape()[1];
    by_row = false;
  } else {
    throw input_error(at_input(m.name(), "shape is " + shape_text(m.shape()) + ", expected a mask over " +
                                             std::to_string(n) + " nodes (N, k x N or N x k)"));
  }
  if (m.ndim() == 2) {
    if (split < 0 || split >= k)
      throw input_error(at_input(m.name(), "holds " + std::to_string(k) + " splits; split " + std::to_string(split) +
                                               " is outside " + range_text(k)));
    s.from += " split " + std::to_string(split);
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t x = m.ndim() == 1 ? v[i] : by_row ? v[split * n + i] : v[i * k + split];
    if (x != 0 && x != 1) throw input_error(at_input(m.name(), "mask value " + std::to_string(x) + " is not 0/1"));
    if (x) s.ids.push_back(i);
  }
  return s;
}

void check_splits(const split_set& s, std::int64_t n, const std::vector<std::int64_t>& labels) {
  std::vector<std::uint8_t> owner(static_cast<std::size_t>(n), 0);
  for (int k = 0; k < 3; ++k) {
    if (!s[k].present) continue;
    const auto& ids = s[k].ids;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::int64_t v = ids[i];
      if (v < 0 || v >= n)
        throw input_error(at_input(s[k].from, std::string(kSplitNames[k]) + " entry " + std::to_string(i) + " = " +
                                                  std::to_string(v) + " is outside " + range_text(n)));
      if (owner[v] == k + 1) throw input_error(at_input(s[k].from, "node " + std::to_string(v) + " appears twice"));
      if (owner[v] != 0)
        throw input_error(at_input(s[k].from, "node " + std::to_string(v) + " is in both the " +
                                                  kSplitNames[owner[v] - 1] + " and the " + kSplitNames[k] +
                                                  " split (" + s[owner[v] - 1].from + ")"));
      owner[v] = static_cast<std::uint8_t>(k + 1);
      if (!labels.empty() && labels[v] < 0)
        throw input_error(at_input(
            s[k].from, "node " + std::to_string(v) + " is in the " + kSplitNames[k] + " split but has no label"));
    }
  }
}

std::int64_t put_labels(dataset_writer& w, const std::vector<std::int64_t>& labels, const std::string& from) {
  std::int64_t mx = -1, labelled = 0;
  for (const std::int64_t l : labels) {
    mx = std::max(mx, l);
    labelled += l >= 0;
  }
  if (labelled == 0) throw input_error(at_input(from, "no node has a label"));
  if (mx >= kMaxClasses)
    throw input_error(at_input(from, "label " + std::to_string(mx) + " would make " + std::to_string(mx + 1) +
                                         " classes (at most " + std::to_string(kMaxClasses) +
                                         "): labels must be class indices 0, 1, 2, ..."));
  // Class ids that no node carries still get an output of the model; many of them usually mean the
  // labels are not class indices (binary data stored as 0 / 1000, ids of a sparse label space).
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(mx + 1), 0);
  for (const std::int64_t l : labels)
    if (l >= 0) seen[static_cast<std::size_t>(l)] = 1;
  const std::int64_t used = std::count(seen.begin(), seen.end(), std::uint8_t{1});
  if (used < mx + 1 && (mx + 1 - used > 8 || 2 * used < mx + 1))
    log_warn(from, ": labels use ", used, " of the values 0..", mx, ", so the model gets ", mx + 1, " classes, ",
             mx + 1 - used,
             " of them never seen; labels are read as class indices 0, 1, 2, ... (renumber them if they are not)");
  w.put("labels.npy", labels);
  w.meta().num_classes = mx + 1;
  w.meta().label_dtype = dtype::int64;
  return labelled;
}

void put_splits(dataset_writer& w, const split_set& s) {
  for (int k = 0; k < 3; ++k)
    if (s[k].present) w.put(kSplitFiles[k], s[k].ids);
}

labelled_import_report finish(dataset_writer& w, const csr_build_stats& st, std::int64_t labelled) {
  auto& m = w.meta();
  m.source["graph"] = {{"input_edges", st.input_edges},
                       {"self_loops_removed", st.self_loops_removed},
                       {"duplicates_removed", st.duplicates_removed},
                       {"stored_arcs", st.edges}};
  // Self-loops are counted in edges read, duplicates in arcs: on an undirected graph every edge is
  // stored in both directions first, so the line says so (the counts add up: 2 (read - self-loops) -
  // duplicates = stored).
  if (m.directed)
    log_info("graph: ", st.input_edges, " edges read, ", st.self_loops_removed, " self-loops and ",
             st.duplicates_removed, " duplicates removed, ", st.edges, " arcs stored");
  else
    log_info("graph: ", st.input_edges, " edges read, ", st.self_loops_removed,
             " self-loops removed; each edge in both directions, ", st.duplicates_removed, " duplicate arcs removed, ",
             st.edges, " arcs stored");
  labelled_import_report r;
  r.dir = w.commit();
  r.num_nodes = m.num_nodes;
  r.num_arcs = m.num_edges;
  r.feature_dim = m.feature_dim;
  r.num_classes = m.num_classes;
  r.labelled = labelled;
  std::int64_t* counts[3] = {&r.train, &r.valid, &r.test};
  for (int k = 0; k < 3; ++k) {
    auto it = m.arrays.find(kSplitFiles[k]);
    if (it != m.arrays.end()) *counts[k] = it->second.shape[0];
  }
  r.graph = st;
  return r;
}

void resolve_num_nodes(array_sources& s) {
  TG_EXPECTS(s.edges, "resolve_num_nodes needs an edge array");
  if (s.num_nodes >= 0) return;
  if (s.features) {
    if (s.features->ndim() != 2)
      throw input_error(
          at_input(s.features->name(), "shape is " + shape_text(s.features->shape()) + ", expected N x D features"));
    s.num_nodes = s.features->shape()[0];
    s.num_nodes_from = s.features->name() + " rows";
  } else if (s.labels) {
    s.num_nodes = s.labels->ndim() >= 1 ? s.labels->shape()[0] : 0;
    s.num_nodes_from = s.labels->name() + " length";
  } else {
    s.num_nodes = max_endpoint(*s.edges) + 1;
    s.num_nodes_from = "largest id in " + s.edges->name();
  }
}

labelled_import_report import_arrays(dataset_writer& w, const array_sources& in, const csr_build_options& graph_opt) {
  array_sources s = in;
  resolve_num_nodes(s);
  const std::int64_t n = s.num_nodes;
  if (!w.meta().source.contains("num_nodes_from")) w.meta().source["num_nodes_from"] = s.num_nodes_from;
  // Before anything is read into memory or written: the node count must fit this machine, and
  // everything written (features as float32, graph, labels, splits) the output's file system.
  csr_builder::expect_nodes_fit(n, s.num_nodes_from.empty() ? w.final_dir() : s.num_nodes_from);
  {
    const auto nodes = static_cast<std::uint64_t>(n);
    std::uint64_t bytes = saturating_mul(nodes + 1, sizeof(std::int64_t));  // indptr
    const std::uint64_t e = s.edges->ndim() == 2 ? static_cast<std::uint64_t>(s.edges->count() / 2) : 0;
    bytes = saturating_add(bytes, saturating_mul(e, graph_opt.symmetrize ? 16 : 8));  // indices
    bytes = saturating_add(bytes, saturating_mul(e, 16));                             // edge spill
    if (s.features && s.features->ndim() == 2)
      bytes = saturating_add(
          bytes,
          saturating_mul(saturating_mul(nodes, static_cast<std::uint64_t>(s.features->shape()[1])), sizeof(float)));
    if (s.labels) bytes = saturating_add(bytes, saturating_mul(nodes, sizeof(std::int64_t)));
    w.expect_space(bytes, "the dataset of " + std::to_string(n) + " nodes and " + std::to_string(e) + " edges");
  }

  std::vector<std::int64_t> labels;
  if (s.labels) labels = labels_from_array(*s.labels, n, s.num_nodes_from);
  check_splits(s.splits, n, labels);
  if (s.features) write_features(w, *s.features, n);

  csr_builder b(w.path(".edges.spill"), graph_opt);
  add_edges(b, *s.edges, s.edges_rows, n);
  const csr_build_stats st = b.build(w, n, s.edges->name());
  std::int64_t labelled = 0;
  if (s.labels) labelled = put_labels(w, labels, s.labels->name());
  put_splits(w, s.splits);
  return finish(w, st, labelled);
}

}  // namespace tg::labelled
