#include "multigpu/sharded_store.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"

namespace tg {

namespace {
// The shard file's bytes must be the plan's: shape and size (the disk reader checks them) and the
// head / tail fingerprints, so a shard copied from another prepare run is refused before any work.
feature_file check_shard_file(const dataset& d, const plan_file& pf, int m) {
  const shard_info& si = pf.shards[static_cast<std::size_t>(m)];
  const std::string path = d.dir() + "/" + si.file;
  const int k = static_cast<int>(pf.shards.size());
  if (!std::filesystem::exists(path))
    throw input_error(at_input(path, "missing: rank " + std::to_string(m) + " of this job trains with feature shard " +
                                         std::to_string(m) + " of " + std::to_string(k) +
                                         "; copy it from the directory `tiergnn prepare --shards` wrote"));
  if (!std::filesystem::is_regular_file(path))
    throw input_error(at_input(path,
                               "is not a regular file (a directory, a device or a pipe): a feature shard must be "
                               "the regular file `tiergnn prepare --shards` wrote"));
  if (std::filesystem::file_size(path) != si.bytes)
    throw input_error(at_input(path, "is " + std::to_string(std::filesystem::file_size(path)) +
                                         " bytes, plan.json says " + std::to_string(si.bytes) +
                                         ": it belongs to another plan, or is damaged"));
  const auto [head, tail] = shard_fingerprint(path);
  if (head != si.head_crc32 || tail != si.tail_crc32)
    throw input_error(at_input(path, "does not belong to " + d.dir() +
                                         "/plan.json (its first or last bytes differ from the shard prepare wrote): "
                                         "it comes from another plan, or is damaged"));
  feature_file f;
  f.path = path;
  f.rows = si.rows();
  f.dim = d.meta().feature_dim;
  f.type = d.meta().feature_dtype;
  return f;
}

}  // namespace

sharded_store::sharded_store(const dataset& d, const plan_file& pf, std::unique_ptr<communicator> comm,
                             const options& o)
    : comm_(std::move(comm)) {
  const int k = static_cast<int>(pf.shards.size());
  TG_EXPECTS(k >= 2 && comm_ && comm_->size() == k, "a sharded store needs one rank per shard");
  TG_EXPECTS(!o.nccl_exchange || o.device == device_kind::cuda, "the NCCL exchange needs the CUDA backend");
  rank_ = comm_->rank();
  layout_.n = d.num_nodes();
  layout_.k = k;
  const shard_info& si = pf.shards[static_cast<std::size_t>(rank_)];
  TG_EXPECTS(si.begin == layout_.begin(rank_) && si.end == layout_.end(rank_), "shard ", rank_,
             " of plan.json is not the round-robin layout");
  const feature_file f = check_shard_file(d, pf, rank_);
  // Every rank checks its own file first; none loads anything until all are known to be good.
  comm_->barrier();
  // Loading the shard can fail on one rank alone (its GPU's free memory, its disk): every rank learns
  // of it before the next collective, so none waits for a peer that has given up.
  std::exception_ptr failure;
  try {
    if (o.backend_override) {
      be_ = o.backend_override;
    } else if (o.device == device_kind::cpu) {
      be_ = &cpu_backend();
    } else {
      be_owner_ = make_backend(o.device, o.device_id);
      be_ = be_owner_.get();
    }
    const std::int64_t g = o.gpu_rows >= 0 ? o.gpu_rows : si.gpu_rows;
    const std::int64_t h = o.host_rows >= 0 ? o.host_rows : si.host_rows;
    store_options so;
    so.device = o.device;
    so.device_id = o.device_id;
    so.disk_readers = o.disk_readers;
    so.reserve_bytes = o.reserve_bytes;
    so.cpu_gather_copy = o.cpu_gather_copy;
    local_ = o.store_override ? o.store_override(f, std::min(g, f.rows), std::min(g + h, f.rows))
                              : make_feature_store(f, std::min(g, f.rows), std::min(g + h, f.rows), so);
    TG_EXPECTS(local_->output_memory() == be_->memory(), "the shard's store and the backend disagree on memory");
  } catch (...) {
    failure = std::current_exception();
  }
  const std::uint8_t loaded = failure ? 0 : 1;
  std::vector<std::uint8_t> all_loaded(static_cast<std::size_t>(k));
  comm_->all_gather(&loaded, 1, all_loaded.data());
  if (failure) std::rethrow_exception(failure);
  for (int r = 0; r < k; ++r)
    if (!all_loaded[static_cast<std::size_t>(r)])
      throw comm_error("sharded store: rank " + std::to_string(r) +
                       " could not load its feature shard (its own message says why); stopping");
  if (o.nccl_exchange) rows_comm_ = make_nccl_communicator(*comm_, o.device_id, o.timeout);
  const std::int64_t row_bytes32 = dim() * static_cast<std::int64_t>(sizeof(float));
  stage_rows_ = o.max_stage_rows > 0 ? o.max_stage_rows : std::max<std::int64_t>(1, (32 << 20) / row_bytes32);
  stage_.bind(*be_);
  served_.bind(*be_);
  out_copy_.bind(*be_);
  pos_.bind(*be_);
  const auto stage_floats = static_cast<std::size_t>(stage_rows_ * dim());
  if (!be_->host_memory() && o.max_stage_rows > 0) {
    // The whole budget of the exchange up front (the reserve counted it): no growth later.
    stage_.reserve(stage_floats);
    out_copy_.reserve(stage_floats);
    pos_.reserve(static_cast<std::size_t>(stage_rows_));
    served_.reserve(stage_floats * static_cast<std::size_t>(k - 1));
  }
  // Replica rows are held as float32 (the rows the exchange delivers): the byte budget counts them so.
  const std::int64_t float_row = dim() * static_cast<std::int64_t>(sizeof(float));
  const std::int64_t budget_rows =
      o.replica_rows >= 0 ? o.replica_rows
                          : static_cast<std::int64_t>(pf.replicate_bytes / static_cast<std::uint64_t>(float_row));
  replica_rows_ = std::clamp<std::int64_t>(budget_rows, 0, layout_.n - layout_.size(rank_));
  replica_bound_ = layout_.replica_rank_bound(rank_, replica_rows_);
  // Fetch the replicas: the remote hot ranks [0, bound), in rank order (= replica slot order), in
  // rounds of at most stage_rows_ rows per rank.
  replicas_ = host_buffer<float>(static_cast<std::size_t>(replica_rows_ * dim()));
  std::vector<std::int64_t> wanted;  // remote hot ranks, in slot order
  for (std::int64_t r = 0; r < replica_bound_; ++r)
    if (static_cast<int>(r % k) != rank_) wanted.push_back(r);
  const auto row = static_cast<std::size_t>(dim());
  const std::int64_t rounds = rounds_for(static_cast<std::int64_t>(wanted.size()));
  std::vector<float> rows;
  for (std::int64_t round = 0; round < rounds; ++round) {
    const std::size_t first = std::min(wanted.size(), static_cast<std::size_t>(round * stage_rows_));
    const std::size_t last = std::min(wanted.size(), first + static_cast<std::size_t>(stage_rows_));
    std::vector<std::vector<std::int64_t>> req(static_cast<std::size_t>(k));
    for (std::size_t i = first; i < last; ++i) req[static_cast<std::size_t>(wanted[i] % k)].push_back(wanted[i] / k);
    stage_.resize((last - first) * row);
    exchange(req, stage_.view());
    rows.resize((last - first) * row);
    stage_.copy_to_host(rows.data());
    // Rows arrive grouped by owner, each owner's in rank order: place them by slot.
    std::size_t at = 0;
    for (int m = 0; m < k; ++m)
      for (std::int64_t local : req[static_cast<std::size_t>(m)]) {
        const std::int64_t slot = layout_.remote_index(rank_, local * k + m);
        std::memcpy(replicas_.data() + slot * dim(), rows.data() + at * row, static_cast<std::size_t>(float_row));
        ++at;
      }
  }
}

std::int64_t sharded_store::rounds_for(std::int64_t mine) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(layout_.k));
  comm_->all_gather(&mine, sizeof mine, all.data());
  const std::int64_t most = *std::max_element(all.begin(), all.end());
  return (most + stage_rows_ - 1) / stage_rows_;
}

sharded_store::~sharded_store() = default;

std::string sharded_store::overlap_blocker() const {
  if (rows_comm_)
    return "the feature exchange runs over NCCL, whose operations must not overlap the gradient reduction's";
  if (!comm_->concurrent_ok()) return "the MPI library does not provide MPI_THREAD_MULTIPLE";
  return "";
}

std::string sharded_store::host_tier_mode() const {
  return "shard " + std::to_string(rank_) + " of " + std::to_string(layout_.k) + " (rows [" +
         std::to_string(layout_.begin(rank_)) + ", " + std::to_string(layout_.end(rank_)) + ")), " +
         (be_->host_memory() ? ""
                             : "GPU tier of " + std::to_string(local_->g()) + " rows in device memory, host tier ") +
         local_->host_tier_mode() + "; " + std::to_string(replica_rows_) + " replicated rows of other shards (" +
         format_bytes(static_cast<double>(replica_rows_ * dim() * 4)) + ", host memory); rows fetched over " +
         (rows_comm_ ? "NCCL, GPU to GPU" : std::string("the ") + comm_->kind() + " communicator");
}

std::int64_t sharded_store::exchange(const std::vector<std::vector<std::int64_t>>& requests, tensor_view<float> rows) {
  const int k = layout_.k;
  const auto ks = static_cast<std::size_t>(k);
  // Request counts: row r of the matrix is what rank r asks of each rank.
  std::vector<std::uint64_t> mine(ks), all(ks * ks);
  for (std::size_t m = 0; m < ks; ++m) mine[m] = requests[m].size();
  comm_->all_gather(mine.data(), ks * sizeof(std::uint64_t), all.data());
  std::vector<std::size_t> send_ids(ks), recv_ids(ks), send_rows(ks), recv_rows(ks);
  std::vector<std::int64_t> ids_out;
  std::size_t asked_of_me = 0;
  for (std::size_t r = 0; r < ks; ++r) {
    send_ids[r] = mine[r] * sizeof(std::int64_t);
    recv_ids[r] = all[r * ks + static_cast<std::size_t>(rank_)] * sizeof(std::int64_t);
    asked_of_me += all[r * ks + static_cast<std::size_t>(rank_)];
    ids_out.insert(ids_out.end(), requests[r].begin(), requests[r].end());
  }
  std::vector<std::int64_t> ids_in(asked_of_me);
  comm_->all_to_all_v(ids_out.data(), send_ids.data(), ids_in.data(), recv_ids.data());
  // Serve: the requested rows of this shard, in request order (the local store checks the range).
  for (std::int64_t id : ids_in)
    if (id < 0 || id >= local_->num_rows())
      throw comm_error("sharded store: rank " + std::to_string(rank_) + " was asked for row " + std::to_string(id) +
                       " of its shard, which has " + std::to_string(local_->num_rows()));
  const std::size_t row_floats = static_cast<std::size_t>(dim());
  for (std::size_t r = 0; r < ks; ++r) {
    send_rows[r] = all[r * ks + static_cast<std::size_t>(rank_)] * row_floats * sizeof(float);
    recv_rows[r] = mine[r] * row_floats * sizeof(float);
  }
  TG_EXPECTS(rows.size >= static_cast<std::int64_t>(ids_out.size() * row_floats), "sharded store: the exchange's ",
             ids_out.size(), " rows do not fit its buffer");
  served_.resize(asked_of_me * row_floats);
  if (asked_of_me > 0) local_->gather(span<const std::int64_t>(ids_in), served_.view(), nullptr);
  if (rows_comm_) {
    // GPU to GPU: the served rows (device memory, complete: the store's gather waits) to the ranks
    // that asked, the fetched rows straight into the staging buffer.
    rows_comm_->all_to_all_v(served_.data(), send_rows.data(), rows.data, recv_rows.data());
  } else if (be_->host_memory()) {
    comm_->all_to_all_v(served_.data(), send_rows.data(), rows.data, recv_rows.data());
  } else {
    // A device backend over the host communicator: through host memory both ways.
    served_host_.resize(served_.size());
    served_.copy_to_host(served_host_.data());
    fetched_host_.resize(ids_out.size() * row_floats);
    comm_->all_to_all_v(served_host_.data(), send_rows.data(), fetched_host_.data(), recv_rows.data());
    if (!fetched_host_.empty())
      be_->copy_from_host(rows.data, fetched_host_.data(), fetched_host_.size() * sizeof(float));
  }
  // Bytes over the network for this rank's rows: the ids it asked for and the rows it received
  // (summed over the ranks, every byte on the wire counts once).
  std::int64_t net = 0;
  for (std::size_t r = 0; r < ks; ++r)
    if (r != static_cast<std::size_t>(rank_)) net += static_cast<std::int64_t>(send_ids[r] + recv_rows[r]);
  return net;
}

void sharded_store::gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) {
  const bool to_host = out.kind == memory_kind::host || out.kind == memory_kind::pinned;
  TG_EXPECTS(to_host || out.kind == be_->memory(), "the sharded feature store writes host or ",
             to_string(be_->memory()), " memory, not ", to_string(out.kind));
  const std::int64_t d = dim();
  TG_EXPECTS(out.size >= static_cast<std::int64_t>(ids.size()) * d, "sharded store: the output holds ", out.size,
             " floats, the gather needs ", static_cast<std::int64_t>(ids.size()) * d);
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= layout_.n)
      throw input_error("feature store: id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                        " is outside [0, " + std::to_string(layout_.n) + ")");
  traffic t;
  if (to_host && !be_->host_memory()) {
    // Into host memory from a device backend (evaluation, whose batches may be far larger than a
    // training batch): rounds of at most stage_rows_ rows, so the device workspaces stay in budget.
    const auto n = static_cast<std::int64_t>(ids.size());
    const std::int64_t rounds = rounds_for(n);
    for (std::int64_t round = 0; round < rounds; ++round) {
      const std::int64_t first = std::min(n, round * stage_rows_), last = std::min(n, first + stage_rows_);
      gather_once(ids.subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(last - first)),
                  out.slice(first * d, (last - first) * d), &t);
    }
  } else {
    gather_once(ids, out, &t);
  }
  if (counts) {
    t.batches = 1;
    t.row_bytes = row_bytes();
    t.exchange_row_bytes = dim() * static_cast<std::int64_t>(sizeof(float));  // replicas and fetched rows: float32
    *counts += t;
  }
}

void sharded_store::gather_once(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) {
  const bool to_host = out.kind == memory_kind::host || out.kind == memory_kind::pinned;
  const std::int64_t d = dim();
  const int k = layout_.k;
  const std::int64_t base = layout_.begin(rank_), end = layout_.end(rank_);
  // Staging order: local rows, then fetched rows owner by owner, then replicated rows; pos_host_
  // holds each staged row's output position.
  std::vector<std::int64_t> local_ids;
  std::vector<std::int64_t> replica_pos;
  std::vector<std::vector<std::int64_t>> req(static_cast<std::size_t>(k)), req_pos(static_cast<std::size_t>(k));
  pos_host_.clear();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int64_t id = ids[i];
    if (id >= base && id < end) {
      local_ids.push_back(id - base);
      pos_host_.push_back(static_cast<std::int64_t>(i));
      continue;
    }
    const int m = layout_.owner(id);
    const std::int64_t local = id - layout_.begin(m);
    if (local * k + m < replica_bound_) {
      replica_pos.push_back(static_cast<std::int64_t>(i));
    } else {
      req[static_cast<std::size_t>(m)].push_back(local);
      req_pos[static_cast<std::size_t>(m)].push_back(static_cast<std::int64_t>(i));
    }
  }
  const auto n_local = local_ids.size();
  std::size_t n_remote = 0;
  for (int m = 0; m < k; ++m) {
    const auto& p = req_pos[static_cast<std::size_t>(m)];
    pos_host_.insert(pos_host_.end(), p.begin(), p.end());
    n_remote += p.size();
  }
  pos_host_.insert(pos_host_.end(), replica_pos.begin(), replica_pos.end());
  const auto row = static_cast<std::size_t>(d);
  const std::size_t n = ids.size();
  stage_.resize(n * row);
  const auto region = [&](std::size_t first, std::size_t count) {
    return stage_.view().slice(static_cast<std::int64_t>(first * row), static_cast<std::int64_t>(count * row));
  };
  // Remote rows first (the exchange waits for the other ranks), then local and replicated rows.
  const std::int64_t net = exchange(req, region(n_local, n_remote));
  traffic local_counts;
  if (n_local > 0) local_->gather(span<const std::int64_t>(local_ids), region(0, n_local), &local_counts);
  if (!replica_pos.empty()) {
    // Replicas live in host memory: copied straight into a host stage, or through a bounce buffer.
    float* dst = stage_.data() + (n_local + n_remote) * row;
    if (!be_->host_memory()) {
      replica_host_.resize(replica_pos.size() * row);
      dst = replica_host_.data();
    }
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, replica_pos.size(), 256), [&](const auto& r) {
      for (std::size_t j = r.begin(); j < r.end(); ++j) {
        const std::int64_t id = ids[static_cast<std::size_t>(replica_pos[j])];
        const int m = layout_.owner(id);
        const std::int64_t hot = (id - layout_.begin(m)) * k + m;
        std::memcpy(dst + j * row, replicas_.data() + layout_.remote_index(rank_, hot) * d, row * sizeof(float));
      }
    });
    if (!be_->host_memory())
      be_->copy_from_host(stage_.data() + (n_local + n_remote) * row, replica_host_.data(),
                          replica_host_.size() * sizeof(float));
  }
  // Every staged row to its place: one backend operation.
  pos_.assign_from_host(pos_host_.data(), n);
  const auto rows = static_cast<std::int64_t>(n);
  if (to_host && !be_->host_memory()) {
    out_copy_.resize(n * row);
    be_->scatter_rows(stage_.view(), rows, d, pos_.view(), out_copy_.view());
    if (n > 0) be_->copy_to_host(out.data, out_copy_.data(), n * row * sizeof(float));
  } else {
    be_->scatter_rows(stage_.view(), rows, d, pos_.view(), tensor_view<float>{out.data, out.size, be_->memory()});
  }
  be_->synchronize();
  traffic t = local_counts;
  t.replica_rows = static_cast<std::int64_t>(replica_pos.size());
  t.remote_rows = static_cast<std::int64_t>(n_remote);
  t.network_bytes = net;
  *counts += t;
}

std::unique_ptr<sharded_store> open_sharded_store(const dataset& d, communicator* job,
                                                  const sharded_store::options& o) {
  const int k = d.meta().feature_shards;
  const int world = job ? job->size() : 1;
  if (world != k)
    throw input_error(at_input(
        d.dir(), "holds features sharded " + std::to_string(k) + " ways (prepare --shards " + std::to_string(k) +
                     "): train it with one rank per shard, e.g. tiergnn launch -n " + std::to_string(k) +
                     " -- train ... or mpirun -np " + std::to_string(k) + " tiergnn train ...; this job has " +
                     std::to_string(world) + (world == 1 ? " process" : " ranks")));
  const plan_file pf = plan_file::load(d);
  return std::make_unique<sharded_store>(d, pf, job->duplicate(), o);
}

}  // namespace tg
