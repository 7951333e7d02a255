#pragma once
// tiergnn embedding API: datasets and plans, profiling and prepare, the neighbour sampler, and the
// tiered feature store with its traffic ledger. Link the CMake target tiergnn::tiergnn:
//
//   find_package(tiergnn REQUIRED)
//   target_link_libraries(app PRIVATE tiergnn::tiergnn)
//
//   auto ds = tiergnn::dataset::open("out/cora");
//   tiergnn::sampler s(ds, {15, 10, 5}, /*seed=*/0);
//   tiergnn::feature_store fs(ds);
//   auto b = s.sample(seeds, /*epoch=*/0, /*batch=*/0);
//   std::vector<float> x(b.input_nodes().size() * fs.dim());
//   fs.gather(b.input_nodes().data(), b.input_nodes().size(), x.data());
#include "tiergnn/dataset.hpp"
#include "tiergnn/feature_store.hpp"
#include "tiergnn/sampler.hpp"
#include "tiergnn/types.hpp"
