#pragma once
// Training checkpoints and saved models. A checkpoint is one file, DIR/checkpoint.tgck, replaced
// atomically (written to a temporary name, flushed, renamed) after every epoch: the model config,
// the training settings that must not change on resume, the dataset's identity (counts and array
// checksums), the epoch and optimizer step reached, and every parameter with its Adam moments.
// A saved model (--save-model) is the same file without the optimizer moments.
//
// Layout: "TGCKPT02", u64 header length, JSON header, then per parameter (header order) float32
// values, and when present float32 m and v; last, the CRC-32 of every byte before it (u32), checked
// when the file is read. Files of the first layout ("TGCKPT01", no trailer) are still read.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace tg {

struct checkpoint {
  nlohmann::json header;  // model, training settings, dataset identity, epoch, step
  std::vector<std::vector<float>> values, m, v;
};

void write_checkpoint(const std::string& path, const gnn_model& model, const optimizer_state* opt,
                      const nlohmann::json& extra);
checkpoint read_checkpoint(const std::string& path);

// Whether `path` is a checkpoint with optimizer state (a run's training state, for --resume), judged by
// its magic bytes and header alone; false for anything else, a saved model included.
bool holds_training_state(const std::string& path);

}  // namespace tg
