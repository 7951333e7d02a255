// Embeds tiergnn: samples one epoch of mini-batches of a dataset's training split, gathers each
// batch's input features through the tiered store, checks every gathered row against the features
// file and prints the traffic ledger. Usage: tiergnn_consumer DATASET [FANOUTS e.g. 15,10,5]
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <tiergnn/tiergnn.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATASET [FANOUTS]\n", argv[0]);
    return 2;
  }
  try {
    std::vector<std::int64_t> fanouts{15, 10, 5};
    if (argc > 2) {
      fanouts.clear();
      std::stringstream ss(argv[2]);
      for (std::string t; std::getline(ss, t, ',');) fanouts.push_back(std::stoll(t));
    }
    const tiergnn::dataset ds = tiergnn::dataset::open(argv[1]);
    std::printf("tiergnn %s: %s, %lld nodes, %lld edges, %lld features%s\n", tiergnn::version().c_str(),
                ds.name().c_str(), static_cast<long long>(ds.num_nodes()), static_cast<long long>(ds.num_edges()),
                static_cast<long long>(ds.feature_dim()), ds.prepared() ? ", prepared" : "");
    const tiergnn::array_view train = ds.split("train");
    if (train.empty()) throw tiergnn::error(tiergnn::error::kind::input, ds.path() + ": no training split");
    const std::vector<std::int64_t> train_ids(train.as<std::int64_t>(), train.as<std::int64_t>() + train.size());

    tiergnn::sampler sampler(ds, fanouts, /*seed=*/0);
    tiergnn::feature_store store(ds);
    const tiergnn::array_view feats = ds.features();
    if (feats.type != tiergnn::dtype::float32)
      throw tiergnn::error(tiergnn::error::kind::input, "expects float32 features");
    const auto batches = sampler.epoch_batches(train_ids, 1024, /*epoch=*/0);
    std::int64_t edges = 0, rows = 0, mismatches = 0;
    std::vector<float> x;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const tiergnn::batch mb = sampler.sample(batches[b], 0, static_cast<std::int64_t>(b));
      const auto& ids = mb.input_nodes();
      x.resize(ids.size() * static_cast<std::size_t>(store.dim()));
      store.gather(ids.data(), ids.size(), x.data());
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (std::memcmp(&x[i * store.dim()], feats.as<float>() + ids[i] * store.dim(), store.row_bytes()) != 0)
          ++mismatches;
      edges += mb.num_sampled_edges();
      rows += static_cast<std::int64_t>(ids.size());
    }
    std::printf("epoch 0: %zu batches, %lld sampled edges, %lld rows gathered, %lld rows differ from features.npy\n",
                batches.size(), static_cast<long long>(edges), static_cast<long long>(rows),
                static_cast<long long>(mismatches));
    std::printf("traffic: %s\n", store.traffic().summary().c_str());
    try {
      const std::int64_t bad = ds.num_nodes();
      store.gather(&bad, 1, x.data());
      std::printf("an out-of-range id was accepted\n");
      return 1;
    } catch (const tiergnn::error& e) {
      std::printf("out-of-range id refused: %s\n", e.what());
    }
    return mismatches == 0 && store.traffic().rows() == rows ? 0 : 1;
  } catch (const tiergnn::error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
