#include "engine/engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "common/error.h"
#include "kv/kv_cache.h"

namespace gb {

Engine::Engine(const std::string& path, const EngineOptions& o, const Progress& progress) {
  if (o.context_length < 1) fail("the context length must be given (at least 1 token)");
  if (o.kv_cache_mib < 1) fail("the KV cache budget must be given (at least 1 MiB)");
  const int bs = o.block_size > 0 ? o.block_size : 16;
  BackendOptions bo;
  bo.isa = o.isa;
  bo.threads = o.threads;
  bo.plan_cache_dir = o.gears.cache_dir;
  bo.autotune = o.gears.autotune;
  bo.padded = o.gears.padded;
  backend_ = make_backend(bo);
  device_ = backend_->device();

  {
    // The file's header gives the trained context, so the context length is settled once, here,
    // before the backend sizes anything by it (RoPE tables, attention scratch).
    ModelFile file(path);
    model_ = file.model();
    const LlamaConfig& c = model_.config;
    context_length_ = std::min<int64_t>(o.context_length, c.n_ctx_train);
    if (o.sample_vocab > c.n_vocab)
      fail("the tokenizer has %lld tokens but token_embd.weight only %lld rows",
           static_cast<long long>(o.sample_vocab), static_cast<long long>(c.n_vocab));
    sample_vocab_ = o.sample_vocab > 0 ? o.sample_vocab : c.n_vocab;
    backend_->load_weights(file, context_length_, [&](double f) {
      if (progress) progress(f * 0.8, "loading weights");
    });
  }  // the file is unmapped: the backend holds its own copy of every tensor
  weights_ = backend_->weights_info();

  const LlamaConfig& c = model_.config;
  const KvGeometry g{c.n_layer, c.n_head_kv, c.head_dim, bs};
  const int64_t n_blocks = std::max<int64_t>(1, o.kv_cache_mib * 1024 * 1024 / backend_->kv_block_bytes(g));
  kv_ = std::make_unique<KvCache>(g, n_blocks);

  const GearConfig& gc = o.gears;
  ladder_ = std::make_unique<GearLadder>(gc.prefill, gc.decode);
  // The blocks of one largest-gear prompt are committed now (the cache hands out blocks 0, 1, ...
  // first), so the first request's prefill pays no page faults; the rest of the budget is
  // committed as it is first used, so an idle server does not hold all of it.
  backend_->allocate_kv(g, n_blocks, (ladder_->max_tokens() + bs - 1) / bs);
  gears_ = std::make_unique<PlanCache>(
      *ladder_, gc.max_resident_bytes, backend_->caps().max_plans,
      [this](const GearKey& key, bool tune) {
        return backend_->compile(key, {ladder_->plan_tokens(key), ladder_->plan_outputs(key)}, tune);
      },
      [this] { backend_->persist_plans(); });
  gears_->warm_up(gc.warm_all, [&](double f, const std::string& label) {
    if (progress) progress(0.8 + 0.2 * f, label);
  });
  // Tests weaken the prefix hash to this many bits so that hashes collide (0: every block's hash
  // is equal); hits must then still be exact.
  if (const char* bits = std::getenv("GEARBOX_PREFIX_HASH_BITS"); bits && *bits) {
    const int n = std::atoi(bits);
    prefix_hash_mask_ = n <= 0 ? 0 : n >= 64 ? ~0ull : (1ull << n) - 1;
  }
  update_stats();
}

uint64_t Engine::prefix_hash(uint64_t parent, const int32_t* tokens, int n) const {
  const uint64_t h = KvCache::hash_chain(parent, tokens, n) & prefix_hash_mask_;
  return h == 0 ? 1 : h;
}

Engine::~Engine() {
  gears_.reset();  // stops the builder thread before the backend it compiles for goes
}

int Engine::block_size() const { return kv_->block_size(); }

int64_t Engine::reservation_blocks(int block_size, int64_t prompt_tokens, int64_t max_new_tokens, int64_t n) {
  const int64_t bs = block_size;
  const int64_t per_choice = (prompt_tokens + max_new_tokens + bs - 1) / bs;
  // Choices fork after all but the last prompt token: the full blocks before it stay shared.
  const int64_t shared = std::max<int64_t>(0, prompt_tokens - 1) / bs;
  return per_choice + (n - 1) * (per_choice - shared);
}

Engine::Sequence& Engine::get(int32_t seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) fail("unknown sequence %d", seq);
  return it->second;
}

int32_t Engine::create_sequence(const SamplingParams& params, const std::vector<int32_t>& prompt, int32_t* cached) {
  const int64_t V = model_.config.n_vocab;
  for (int32_t t : prompt)
    if (t < 0 || t >= V) fail("prompt token %d is outside the vocabulary (0..%lld)", t, static_cast<long long>(V - 1));
  Sequence s;
  s.sampler = std::make_unique<Sampler>(params, sample_vocab_);
  // Attach the longest run of whole cached blocks, leaving at least one prompt token to compute.
  const int bs = kv_->block_size();
  uint64_t h = 0;
  uint64_t parent = 0;
  for (size_t i = 0; (i + 1) * static_cast<size_t>(bs) < prompt.size(); i++) {
    h = prefix_hash(h, prompt.data() + i * bs, bs);
    int b = kv_->acquire_cached(h, prompt.data() + i * bs, parent);  // compares the tokens
    if (b < 0) break;
    parent = kv_->content(b);
    s.blocks.push_back(b);
    s.hashes.push_back(h);
    s.tokens.insert(s.tokens.end(), prompt.begin() + static_cast<long>(i * bs), prompt.begin() + static_cast<long>((i + 1) * bs));
  }
  for (int32_t t : s.tokens) s.sampler->observe(t);
  *cached = static_cast<int32_t>(s.tokens.size());
  prefix_hit_tokens_ += *cached;
  const int32_t id = next_seq_++;
  seqs_.emplace(id, std::move(s));
  update_stats();
  return id;
}

int32_t Engine::fork_sequence(int32_t seq, const SamplingParams& params) {
  Sequence& src = get(seq);
  Sequence s;
  s.blocks = src.blocks;
  s.tokens = src.tokens;
  s.hashes = src.hashes;
  for (int32_t b : s.blocks) kv_->retain(b);
  s.sampler = std::make_unique<Sampler>(params, sample_vocab_);
  for (int32_t t : s.tokens) s.sampler->observe(t);
  const int32_t id = next_seq_++;
  seqs_.emplace(id, std::move(s));
  update_stats();
  return id;
}

void Engine::free_sequence(int32_t seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;  // freeing twice is harmless (cancel races with completion)
  for (int32_t b : it->second.blocks) kv_->release(b);
  seqs_.erase(it);
  update_stats();
}

void Engine::publish_full_blocks(Sequence& s) {
  const int bs = kv_->block_size();
  while (s.hashes.size() < s.tokens.size() / static_cast<size_t>(bs)) {
    const size_t i = s.hashes.size();
    const uint64_t parent = i == 0 ? 0 : s.hashes[i - 1];
    const uint64_t h = prefix_hash(parent, s.tokens.data() + i * bs, bs);
    const uint64_t parent_content = i == 0 ? 0 : kv_->content(s.blocks[i - 1]);
    kv_->publish(s.blocks[i], h, s.tokens.data() + i * bs, parent_content);
    s.hashes.push_back(h);
  }
}

std::vector<StepOutput> Engine::step(const std::vector<StepItem>& items, const LateMask& late_mask) {
  const int64_t V = model_.config.n_vocab;
  const int bs = kv_->block_size();
  // ---- validate everything before changing any state
  std::unordered_set<int32_t> seen;
  int64_t blocks_needed = 0;
  for (const StepItem& it : items) {
    if (!seen.insert(it.seq).second) fail("sequence %d appears twice in one step", it.seq);
    Sequence& s = get(it.seq);
    if (it.tokens.empty()) fail("step item for sequence %d has no tokens", it.seq);
    for (int32_t t : it.tokens)
      if (t < 0 || t >= V) fail("token %d is outside the vocabulary (0..%lld)", t, static_cast<long long>(V - 1));
    if (!it.mask.empty() && static_cast<int64_t>(it.mask.size()) != (V + 31) / 32)
      fail("the token mask of sequence %d has %zu words, the vocabulary needs %lld", it.seq, it.mask.size(),
           static_cast<long long>((V + 31) / 32));
    const int64_t n_after = static_cast<int64_t>(s.tokens.size() + it.tokens.size());
    if (n_after > context_length_)
      fail("sequence %d would hold %lld tokens, beyond the context length %lld", it.seq, static_cast<long long>(n_after),
           static_cast<long long>(context_length_));
    blocks_needed += (n_after + bs - 1) / bs - static_cast<int64_t>(s.blocks.size());
    const size_t n = s.tokens.size();
    if (n % bs != 0 && kv_->refcount(s.blocks.back()) > 1) blocks_needed++;  // copy-on-write
  }
  if (blocks_needed > kv_->n_blocks() - kv_->blocks_used())
    fail("kv cache full: this step needs %lld more blocks, %lld are free", static_cast<long long>(blocks_needed),
         static_cast<long long>(kv_->n_blocks() - kv_->blocks_used()));

  // ---- reserve KV slots (copy-on-write of shared partial blocks)
  for (const StepItem& it : items) {
    Sequence& s = get(it.seq);
    const size_t n = s.tokens.size();
    if (n % bs != 0 && kv_->refcount(s.blocks.back()) > 1) {
      int nb = kv_->allocate();
      backend_->copy_kv_block(s.blocks.back(), nb);
      kv_->release(s.blocks.back());
      s.blocks.back() = nb;
    }
    while (static_cast<int64_t>(s.blocks.size()) * bs < static_cast<int64_t>(n + it.tokens.size())) {
      int nb = kv_->allocate();
      if (nb < 0) fail("kv cache full");  // unreachable after the check above
      s.blocks.push_back(nb);
    }
  }

  // ---- run as passes of at most the largest gear's tokens and sequences
  std::vector<StepOutput> outputs(items.size());
  const int max_tokens = ladder_->max_tokens();
  const int max_seqs = ladder_->max_sequences();
  std::vector<int32_t> done(items.size(), 0);  // tokens of each item already computed
  size_t next_item = 0;
  while (next_item < items.size()) {
    ForwardBatch batch;
    std::vector<size_t> in_pass;
    int tokens = 0;
    for (size_t i = next_item; i < items.size() && tokens < max_tokens && static_cast<int>(in_pass.size()) < max_seqs; i++) {
      const StepItem& it = items[i];
      if (done[i] == static_cast<int32_t>(it.tokens.size())) continue;
      Sequence& s = get(it.seq);
      const int take = std::min<int>(static_cast<int>(it.tokens.size()) - done[i], max_tokens - tokens);
      BatchSeq bsq;
      bsq.blocks = s.blocks.data();
      bsq.first = static_cast<int32_t>(batch.tokens.size());
      bsq.n_tokens = take;
      const bool last = done[i] + take == static_cast<int>(it.tokens.size());
      bsq.output = (last && (it.sample || it.want_logits)) ? batch.n_outputs++ : -1;
      const int64_t base = static_cast<int64_t>(s.tokens.size());
      for (int j = 0; j < take; j++) {
        const int64_t pos = base + j;
        batch.tokens.push_back({it.tokens[static_cast<size_t>(done[i] + j)], static_cast<int32_t>(pos),
                                static_cast<int32_t>(batch.seqs.size()), s.blocks[static_cast<size_t>(pos / bs)],
                                static_cast<int32_t>(pos % bs)});
      }
      batch.seqs.push_back(bsq);
      in_pass.push_back(i);
      tokens += take;
    }
    const bool decode = tokens == static_cast<int>(batch.seqs.size());
    std::shared_ptr<const BackendPlan> plan = gears_->acquire(tokens, static_cast<int>(batch.seqs.size()), decode);
    const float* logits = backend_->execute(*plan, batch);
    for (size_t k = 0; k < in_pass.size(); k++) {
      const size_t i = in_pass[k];
      const StepItem& it = items[i];
      Sequence& s = get(it.seq);
      const BatchSeq& bsq = batch.seqs[k];
      for (int j = 0; j < bsq.n_tokens; j++) {
        const int32_t t = it.tokens[static_cast<size_t>(done[i] + j)];
        s.tokens.push_back(t);
        s.sampler->observe(t);
      }
      done[i] += bsq.n_tokens;
      publish_full_blocks(s);
      outputs[i].seq = it.seq;
      if (bsq.output >= 0) {
        const float* row = logits + static_cast<size_t>(bsq.output) * static_cast<size_t>(V);
        if (it.want_logits) outputs[i].logits.assign(row, row + V);
        if (it.sample) {
          std::vector<float> work(row, row + V);
          const uint32_t* mask = !it.mask.empty() ? it.mask.data() : late_mask ? late_mask(i) : nullptr;
          outputs[i].sample = s.sampler->sample(work.data(), mask);
        }
      }
    }
    while (next_item < items.size() && done[next_item] == static_cast<int32_t>(items[next_item].tokens.size())) next_item++;
  }
  update_stats();
  return outputs;
}

void Engine::update_stats() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.block_size = kv_->block_size();
  stats_.blocks_total = kv_->n_blocks();
  stats_.blocks_used = kv_->blocks_used();
  stats_.blocks_cached = kv_->blocks_cached();
  stats_.sequences = static_cast<int64_t>(seqs_.size());
  stats_.prefix_hit_tokens = prefix_hit_tokens_;
}

KvStats Engine::kv_stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

GearReport Engine::gear_report() const {
  GearReport r = gears_->report();
  r.cache_status = backend_->plan_store_status();
  return r;
}

}  // namespace gb
