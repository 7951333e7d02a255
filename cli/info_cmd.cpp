// `tiergnn info DATASET [--check] [--json]`: counts, degree statistics, feature bytes, splits, and
// with --check the full validation (CSR structure, ids, labels, splits, checksums).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/json_text.hpp"
#include "core/dataset.hpp"
#include "core/progress.hpp"
#include "tiering/plan_file.hpp"

namespace tg::cli {

namespace {
nlohmann::json describe(const dataset& d) {
  const auto& m = d.meta();
  nlohmann::json j;
  j["path"] = d.dir();
  j["name"] = m.name;
  j["num_nodes"] = m.num_nodes;
  j["num_arcs"] = m.num_edges;
  j["directed"] = m.directed;
  j["index_dtype"] = dtype_name(m.index_dtype);
  const degree_stats s =
      compute_degree_stats(m.num_nodes, d.indptr().as<std::int64_t>(), d.indices().raw(), d.indices().type());
  // Each undirected edge is stored as two arcs, a self-loop as one.
  if (!m.directed) j["num_undirected_edges_stored"] = (m.num_edges - s.self_loops) / 2 + s.self_loops;
  j["degree"] = {{"max_in", s.max_in},
                 {"max_out", s.max_out},
                 {"mean_in", s.mean_in},
                 {"max_total", s.max_total},
                 {"isolated_nodes", s.isolated},
                 {"self_loops", s.self_loops},
                 {"top1pct_endpoint_share", s.top1_endpoint_share}};
  std::uint64_t graph_bytes = 0, feature_bytes = 0, total = 0;
  for (const auto& [f, a] : m.arrays) {
    total += a.bytes;
    if (f == "indptr.npy" || f == "indices.npy") graph_bytes += a.bytes;
    if (f == "features.npy") feature_bytes += a.bytes;
  }
  // Sharded features (prepare --shards): the shards plan.json lists, and which of them are here.
  nlohmann::json shards;
  if (m.feature_shards > 0) {
    const plan_file pf = plan_file::load(d);
    shards = nlohmann::json::array();
    for (const shard_info& si : pf.shards) {
      const bool here = std::filesystem::is_regular_file(d.dir() + "/" + si.file);  // a folder or a FIFO is not a shard
      shards.push_back({{"file", si.file}, {"rows", {si.begin, si.end}}, {"bytes", si.bytes}, {"present", here}});
      feature_bytes += si.bytes;
      if (here) total += si.bytes;
    }
  }
  if (m.has_features())
    j["features"] = {{"dim", m.feature_dim},
                     {"dtype", dtype_name(m.feature_dtype)},
                     {"row_bytes", m.feature_dim * static_cast<std::int64_t>(dtype_size(m.feature_dtype))},
                     {"bytes", feature_bytes},
                     {"shards", shards}};
  else
    j["features"] = nullptr;
  if (m.has_labels()) {
    const auto labels = d.get("labels.npy").to_int64();
    std::int64_t labelled = 0;
    for (auto l : labels) labelled += l >= 0;
    j["labels"] = {{"num_classes", m.num_classes}, {"labelled_nodes", labelled}};
  } else {
    j["labels"] = nullptr;
  }
  nlohmann::json splits = nlohmann::json::object();
  for (const char* s : {"train", "valid", "test"}) {
    const std::string f = std::string(s) + "_idx.npy";
    if (d.has(f)) splits[s] = d.get(f).count();
  }
  j["splits"] = splits;
  j["bytes"] = {{"graph", graph_bytes}, {"features", feature_bytes}, {"total", total}};
  j["source"] = m.source;
  // A prepared dataset: what it was prepared from and for, and its tiers (from plan.json).
  if (d.has("order.npy") && std::filesystem::is_regular_file(d.dir() + "/plan.json")) {
    const plan_file pf = plan_file::load(d);
    j["prepared"] = {{"from", pf.json.value("source", nlohmann::json::object()).value("path", std::string())},
                     {"estimator", pf.plan.estimator},
                     {"training", pf.json.value("training", nlohmann::json::object())},
                     {"tiers", pf.json.value("tiers", nlohmann::json::object())},
                     {"budgets", pf.json.value("budgets", nlohmann::json::object())},
                     {"shards", static_cast<long long>(pf.shards.size())}};
  }
  return j;
}

void print_human(const nlohmann::json& j) {
  auto cnt = [](const nlohmann::json& v) { return format_count(v.get<double>()); };
  // The name comes from meta.json: control characters are shown escaped, never sent to the terminal.
  const std::string name = printable_text(j["name"].get<std::string>());
  std::printf("dataset      %s (%s)\n", name.c_str(), printable_text(j["path"].get<std::string>()).c_str());
  std::printf("nodes        %s (%lld)\n", cnt(j["num_nodes"]).c_str(), j["num_nodes"].get<long long>());
  if (j["directed"].get<bool>())
    std::printf("arcs         %s (%lld), directed\n", cnt(j["num_arcs"]).c_str(), j["num_arcs"].get<long long>());
  else
    std::printf("arcs         %s (%lld) = %lld undirected edges, both directions stored\n", cnt(j["num_arcs"]).c_str(),
                j["num_arcs"].get<long long>(), j["num_undirected_edges_stored"].get<long long>());
  const auto& g = j["degree"];
  std::printf("in-degree    mean %.2f, max %lld; out-degree max %lld\n", g["mean_in"].get<double>(),
              g["max_in"].get<long long>(), g["max_out"].get<long long>());
  std::printf("skew         top 1%% of nodes hold %.1f%% of edge endpoints\n",
              100.0 * g["top1pct_endpoint_share"].get<double>());
  std::printf("isolated     %lld nodes; self-loops %lld\n", g["isolated_nodes"].get<long long>(),
              g["self_loops"].get<long long>());
  std::string absent;  // sharded: the shards held elsewhere (for the size line)
  if (j["features"].is_null()) {
    std::printf("features     none\n");
  } else {
    const auto& f = j["features"];
    std::printf("features     %lld x %s, %lld B per row, %s\n", j["num_nodes"].get<long long>(),
                (std::to_string(f["dim"].get<long long>()) + " " + f["dtype"].get<std::string>()).c_str(),
                f["row_bytes"].get<long long>(), format_bytes(f["bytes"].get<double>()).c_str());
    if (!f["shards"].is_null()) {
      std::string here;
      for (std::size_t m = 0; m < f["shards"].size(); ++m) {
        std::string& list = f["shards"][m]["present"].get<bool>() ? here : absent;
        list += (list.empty() ? "" : ", ") + std::to_string(m);
      }
      std::printf("shards       %zu machines (rows dealt round-robin by heat); here: %s\n", f["shards"].size(),
                  here.empty() ? "none" : here.c_str());
    }
  }
  if (j["labels"].is_null())
    std::printf("labels       none\n");
  else
    std::printf("labels       %s, %s\n",
                count_text(j["labels"]["num_classes"].get<long long>(), "class", "classes").c_str(),
                count_text(j["labels"]["labelled_nodes"].get<long long>(), "labelled node").c_str());
  std::string sp;
  for (const char* k : {"train", "valid", "test"})
    if (j["splits"].contains(k))
      sp += (sp.empty() ? "" : ", ") + std::string(k) + " " + std::to_string(j["splits"][k].get<long long>());
  std::printf("splits       %s\n", sp.empty() ? "none" : sp.c_str());
  // Sharded: the total is what this machine holds (its shards), the features' size that of all shards.
  std::printf(
      "size         graph %s, features %s, total %s%s\n", format_bytes(j["bytes"]["graph"].get<double>()).c_str(),
      format_bytes(j["bytes"]["features"].get<double>()).c_str(),
      format_bytes(j["bytes"]["total"].get<double>()).c_str(),
      absent.empty() ? ""
                     : (" here (without shard" + std::string(absent.find(',') != std::string::npos ? "s " : " ") +
                        absent + ", held elsewhere)")
                           .c_str());
  if (j.contains("prepared")) {
    const auto& p = j["prepared"];
    const auto& tr = p["training"];
    const auto& t = p["tiers"];
    const auto& b = p["budgets"];
    // The model the training reserve was sized for (plans before it was recorded: sage).
    std::string model;
    if (tr.contains("model") && tr["model"].is_string()) {
      model = ", model " + printable_text(tr["model"].get<std::string>());
      if (tr.contains("heads") && tr.contains("out_heads"))
        model += " (heads " + tr["heads"].dump() + ", last layer " + tr["out_heads"].dump() + ")";
    }
    std::printf(
        "prepared     from %s by %s for fanouts %s, batch %s, hidden %s%s%s\n",
        printable_text(p["from"].get<std::string>()).c_str(), p["estimator"].get<std::string>().c_str(),
        tr.value("fanouts", nlohmann::json()).dump().c_str(), tr.value("batch_size", nlohmann::json()).dump().c_str(),
        tr.value("hidden", nlohmann::json()).dump().c_str(), model.c_str(),
        tr.value("max_batches", 0) > 0 ? (", --max-batches " + std::to_string(tr.value("max_batches", 0))).c_str()
                                       : "");
    // Sharded: the rows are summed over the shards and the budgets are each machine's (R13-F9).
    const long long shards = p.value("shards", 0LL);
    std::printf("tiers        GPU %lld rows (budget %s%s), host %lld rows (budget %s%s), disk %lld rows%s\n",
                t.value("gpu_rows", 0LL), printable_text(b.value("gpu", std::string("?"))).c_str(),
                shards > 0 ? " per shard" : "", t.value("host_rows", 0LL),
                printable_text(b.value("host", std::string("?"))).c_str(), shards > 0 ? " per shard" : "",
                t.value("disk_rows", 0LL),
                shards > 0 ? (" (rows summed over the " + std::to_string(shards) + " shards)").c_str() : "");
  }
}
}  // namespace

void register_info(CLI::App& app) {
  struct opts_t {
    std::string dir;
    bool check = false, json = false;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = app.add_subcommand("info", "Describe a dataset directory; --check validates all of it");
  c->add_option("dataset", o->dir, "Dataset directory")->required();
  c->add_flag("--check", o->check,
              "Validate everything: CSR structure (indptr monotone, ids in range), dtypes and shapes,\n"
              "labels in range, splits (in range, disjoint, labelled) and file checksums");
  c->add_flag("--json", o->json, "Print one JSON object instead of text");
  c->callback([o] {
    const dataset d = open_dataset(o->dir);
    nlohmann::json j = describe(d);
    if (o->check) {
      const auto t0 = std::chrono::steady_clock::now();
      d.check();
      // Sharded: every shard present here against its checksum in plan.json.
      if (d.meta().feature_shards > 0)
        for (const shard_info& si : plan_file::load(d).shards) {
          const std::string path = d.dir() + "/" + si.file;
          if (!std::filesystem::exists(path)) continue;
          const std::uint32_t crc = file_crc32(path);
          if (crc != si.crc32)
            throw input_error(at_input(path,
                                       "checksum mismatch with plan.json: the shard changed after prepare, or "
                                       "belongs to another plan"));
        }
      j["check"] = {{"ok", true},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    }
    if (o->json) {
      std::cout << json_text(j) << std::endl;
    } else {
      print_human(j);
      if (o->check)
        // Only what the dataset holds is named as checked (R13-F13: "labels, splits" on a bare graph).
        std::printf("check        ok (structure, ids%s%s, checksums%s%s)\n", d.has("labels.npy") ? ", labels" : "",
                    d.has("train_idx.npy") || d.has("valid_idx.npy") || d.has("test_idx.npy") ? ", splits" : "",
                    d.meta().directed ? "" : ", symmetric arcs",
                    d.meta().feature_shards > 0 ? ", the feature shards here" : "");
    }
  });
}

}  // namespace tg::cli
