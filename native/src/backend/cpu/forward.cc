// The forward pass: one straight-line function a reviewer can hold against the Llama 3 architecture.
// Each stage is one parallel region on the pool (rows split across threads, output columns in owned
// ranges with stealing at the end: matmul_job.h, or attention items handed out one at a time).
#include "backend/cpu/forward.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>

#include "kernels/act.h"
#include "kernels/attention.h"
#include "backend/cpu/cpu_model.h"
#include "backend/cpu/kv_storage.h"
#include "backend/cpu/matmul_job.h"
#include "threads/pool.h"

namespace gb {

namespace {

size_t align_up(size_t n) { return (n + 63) & ~size_t{63}; }

// y = (x / rms(x)) * w, as ggml: squares (in float) summed in double, scale in float, then the
// weight. ggml adds the squares one after another, a chain of dependent double additions (about 4
// cycles each: 2.7 us per 2048-value row, 25 ms of a 512-token prefill of the 1b model on 2
// threads). Here they go into 8 partial sums, which the compiler keeps in vector registers, added
// pairwise at the end. Summed in double, the order changes the sum by about 1e-16 of itself, so
// the float mean is the sequential one except when that sum lies that close to a float rounding
// boundary.
inline void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) part[j] += static_cast<double>(x[i + j] * x[i + j]);
  for (; i < n; i++) part[0] += static_cast<double>(x[i] * x[i]);
  const double sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

// RoPE on each head of v, rotating ADJACENT pairs (x[2i], x[2i+1]) by angle theta_i (cos[i],
// sin[i] of this position; theta_i = pos * base^(-2i/hd), see the table in cpu_backend.cc). That is
// ggml's "normal" rope mode, the one llama.cpp uses for architecture `llama`. Hugging Face Llama
// checkpoints instead pair dimension j with j + hd/2 (`rotate_half`); the GGUF conversion
// (llama.cpp's convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of attn_q and attn_k
// within every head (reshape (2, hd/2) -> swap -> (hd/2, 2)), so HF rows j and j + hd/2 become rows
// 2j and 2j + 1 of the file. The pairs are therefore adjacent in every GGUF llama file, with the
// same frequency index, and q.k is unchanged (both sides are permuted alike). attn_v and
// attn_output are not permuted, so attention outputs are in the checkpoint's order.
inline void rope(float* v, int64_t n_heads, int64_t hd, const float* cos, const float* sin) {
  for (int64_t h = 0; h < n_heads; h++) {
    float* x = v + h * hd;
    for (int64_t i = 0; i < hd / 2; i++) {
      const float x0 = x[2 * i], x1 = x[2 * i + 1];
      x[2 * i] = x0 * cos[i] - x1 * sin[i];
      x[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

class StageTimer {
 public:
  explicit StageTimer(ForwardProfile* p) : p_(p && p->enabled ? p : nullptr) { last_ = now(); }
  void mark(ProfileStage s) {
    if (!p_) return;
    double t = now();
    p_->ns[s] += t - last_;
    last_ = t;
  }

 private:
  static double now() {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
  }
  ForwardProfile* p_;
  double last_ = 0;
};

}  // namespace

ArenaLayout plan_layout(const CpuModel& m, int max_tokens, int max_outputs, int threads) {
  const LlamaConfig& c = m.config;
  const Weights& W = *m.weights;
  const size_t T = static_cast<size_t>(max_tokens), S = static_cast<size_t>(max_outputs);
  size_t act = 0;
  auto need = [&](const Matrix& w, size_t rows) {
    size_t b = act_bytes(act_format_for(w.format), static_cast<int64_t>(rows), w.cols);
    if (b > act) act = b;
  };
  for (const LayerWeights& L : W.layers) {
    need(L.wq, T), need(L.wk, T), need(L.wv, T), need(L.wo, T), need(L.w_gate, T), need(L.w_up, T);
    need(L.w_down, T);
  }
  need(W.output, S);
  ArenaLayout a{};
  size_t off = 0;
  auto take = [&](size_t bytes) {
    size_t o = off;
    off += align_up(bytes);
    return o;
  };
  const size_t D = static_cast<size_t>(c.n_embd), F = static_cast<size_t>(c.n_ff);
  a.x = take(T * D * 4);
  a.xn = take(T * D * 4);
  a.act_stride = align_up(act);
  a.act = take(3 * a.act_stride);  // up to three activation formats for one input (mixed-type files)
  a.q = take(T * static_cast<size_t>(c.q_dim()) * 4);
  a.k = take(T * static_cast<size_t>(c.kv_dim()) * 4);
  a.v = take(T * static_cast<size_t>(c.kv_dim()) * 4);
  a.attn = take(T * static_cast<size_t>(c.q_dim()) * 4);
  a.gate = take(T * F * 4);
  a.up = take(T * F * 4);
  a.out_rows = take(S * D * 4);
  a.logits = take(S * static_cast<size_t>(c.n_vocab) * 4);
  // Per thread: scores of one KV head's query group (group x (positions + 16): whole blocks are
  // written), the group's q in f16 precision, and the K and V block pointers of one sequence.
  const size_t group = static_cast<size_t>(c.n_head / c.n_head_kv);
  a.scores_stride = m.max_positions + 16;
  a.scratch_per_thread = align_up(group * (static_cast<size_t>(a.scores_stride) + static_cast<size_t>(c.head_dim)) * 4 +
                                  2 * (static_cast<size_t>(m.max_positions) + 2) * sizeof(void*) + 64);
  a.scratch = take(a.scratch_per_thread * static_cast<size_t>(threads));
  a.total = off;
  return a;
}

void forward(const CpuModel& m, const CpuPlan& plan, CpuKvStorage& kv, const ForwardBatch& b, ThreadPool& pool,
             ForwardProfile* prof, bool stream_prefetch) {
  const LlamaConfig& c = m.config;
  const Weights& W = *m.weights;
  const KernelSet& K = *m.kernels;
  const AttentionKernels& attention = attention_for(K);
  const ArenaLayout& A = plan.layout;
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  // Padded mode (static-graph emulation): matmuls run over the whole bucket; the extra rows hold
  // whatever the arena holds and are never read back.
  const int64_t Tm = plan.padded && plan.max_tokens > T ? plan.max_tokens : T;
  const int64_t D = c.n_embd, Dq = c.q_dim(), Dkv = c.kv_dim(), F = c.n_ff, hd = c.head_dim;
  const int64_t n_head = c.n_head, n_kv = c.n_head_kv, group = n_head / n_kv, half = hd / 2;
  const int bs = kv.block_size();
  const float eps = c.rms_eps;
  // A tile of the plan with this pass's way of streaming weights (TileShape::prefetch).
  auto streamed = [&](TileShape t) {
    t.prefetch = stream_prefetch;
    return t;
  };
  const float kq_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t act_stride = A.act_stride;
  const int nth = pool.size();

  float* x = plan.at<float>(A.x);        // (T, D) residual stream
  float* xn = plan.at<float>(A.xn);      // (T, D) normed input of a block / block output
  uint8_t* act0 = plan.at<uint8_t>(A.act);  // converted activations, up to 3 formats
  float* q = plan.at<float>(A.q);        // (T, n_head, hd)
  float* k = plan.at<float>(A.k);        // (T, n_kv, hd)
  float* v = plan.at<float>(A.v);        // (T, n_kv, hd)
  float* attn = plan.at<float>(A.attn);  // (T, n_head, hd)
  float* gate = plan.at<float>(A.gate);  // (T, F)
  float* up = plan.at<float>(A.up);      // (T, F)

  // The distinct activation formats the matrices reading one input need (mixed-type files can
  // need more than one): buffer j holds format fmt[j]; matrix i reads buffer of[i].
  struct ActSet {
    int n = 0;
    ActFormat fmt[3];
    int64_t cols = 0;
    const void* of[3];
  };
  auto act_set = [&](const Matrix* const* ws, int count) {
    ActSet a;
    a.cols = ws[0]->cols;
    for (int i = 0; i < count; i++) {
      ActFormat f = act_format_for(ws[i]->format);
      int j = 0;
      while (j < a.n && a.fmt[j] != f) j++;
      if (j == a.n) a.fmt[a.n++] = f;
      a.of[i] = act0 + static_cast<size_t>(j) * act_stride;
    }
    return a;
  };
  // Converts rows [t0, t1) of src (row stride ld) into every buffer of the set.
  auto convert = [&](const ActSet& a, const float* src, int64_t ld, int64_t M, int64_t t0, int64_t t1) {
    for (int j = 0; j < a.n; j++)
      if (t1 > t0) K.convert_act(a.fmt[j], src, ld, t0, t1, M, a.cols, act0 + static_cast<size_t>(j) * act_stride);
  };

  StageTimer timer(prof);
  // ---- token embeddings: x[t] = token_embd[token]
  pool.parallel([&](int ith, int nth) {
    int64_t t0, t1;
    split_range(T, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) K.get_row(W.token_embd, b.tokens[static_cast<size_t>(t)].token, x + t * D);
  });
  timer.mark(kProfEmbed);

  bool pending_residual = false;  // xn holds a block output still to be added to x
  for (size_t l = 0; l < W.layers.size(); l++) {
    const LayerWeights& L = W.layers[l];
    const int64_t layer = static_cast<int64_t>(l);

    // ---- residual (previous FFN) + attention RMSNorm + activation conversion, by rows
    const Matrix* qkv_m[3] = {&L.wq, &L.wk, &L.wv};
    const ActSet qkv = act_set(qkv_m, 3);
    // Rows are split over the computed rows (Tm) so each thread converts the rows it normalized.
    pool.parallel([&](int ith, int nth) {
      int64_t t0, t1;
      split_range(Tm, ith, nth, &t0, &t1);
      for (int64_t t = t0; t < t1 && t < T; t++) {
        if (pending_residual)
          for (int64_t i = 0; i < D; i++) x[t * D + i] += xn[t * D + i];
        rms_norm(x + t * D, L.attn_norm, xn + t * D, D, eps);
      }
      convert(qkv, xn, D, Tm, t0, t1);
    });
    pending_residual = false;
    timer.mark(kProfNorm);

    // ---- Q, K, V projections: (T, D) -> (T, Dq), (T, Dkv), (T, Dkv)
    {
      MatmulJob jq(K, L.wq, qkv.of[0], Tm, q, streamed(plan.tile(l, kMatQ)), nth);
      MatmulJob jk(K, L.wk, qkv.of[1], Tm, k, streamed(plan.tile(l, kMatK)), nth);
      MatmulJob jv(K, L.wv, qkv.of[2], Tm, v, streamed(plan.tile(l, kMatV)), nth);
      pool.parallel([&](int ith, int) {
        jq.run(ith);
        jk.run(ith);
        jv.run(ith);
      });
    }
    timer.mark(kProfQKV);

    // ---- RoPE on q and k; K and V stored in the cache as f16
    pool.parallel([&](int ith, int nth) {
      int64_t t0, t1;
      split_range(T, ith, nth, &t0, &t1);
      uint16_t kh[kMaxHeadDim];
      for (int64_t t = t0; t < t1; t++) {
        const BatchToken& bt = b.tokens[static_cast<size_t>(t)];
        const float* cs = m.rope_cos.data() + bt.pos * half;
        const float* sn = m.rope_sin.data() + bt.pos * half;
        rope(q + t * Dq, n_head, hd, cs, sn);
        rope(k + t * Dkv, n_kv, hd, cs, sn);
        for (int64_t h = 0; h < n_kv; h++) {
          uint16_t* kd = kv.k(layer, bt.block, h) + bt.slot;  // K blocks are (hd, bs): one column
          attention.to_f16(k + t * Dkv + h * hd, kh, hd);
          for (int64_t i = 0; i < hd; i++) kd[i * bs] = kh[i];
          attention.to_f16(v + t * Dkv + h * hd, kv.v(layer, bt.block, h) + bt.slot * hd, hd);
        }
      }
    });
    timer.mark(kProfRope);

    // ---- causal grouped-query attention over each sequence's cached blocks
    // One item per (token, KV head): its `group` query heads share every K and V load. Items are
    // taken in order from a shared counter (later tokens cost more; see matmul_job.h for why not a
    // static split), KV head by KV head, so the threads read one head's K and V blocks at a time
    // (a 1024-token prompt's K and V over all 8 KV heads of the 1b model, 2 MiB a layer, overflow
    // a core's L2; one head's do not). testing.benchAttention, AMD Zen 5, 1024 and 2048 tokens,
    // one thread, that order against token by token: +4.5-6% on AVX-512, +2.5% on AVX2. As
    // llama.cpp's CPU path: q and the softmax weights are rounded to f16 against f16 K and V.
    std::atomic<int64_t> next_item{0};
    pool.parallel([&](int ith, int) {
      float* scores = plan.at<float>(A.scratch + static_cast<size_t>(ith) * A.scratch_per_thread);
      float* qf = scores + group * A.scores_stride;  // (group, hd)
      const uint16_t** kb = reinterpret_cast<const uint16_t**>(qf + group * hd);
      const uint16_t** vb = kb + (m.max_positions + 1);
      for (int64_t item = next_item.fetch_add(1, std::memory_order_relaxed); item < T * n_kv;
           item = next_item.fetch_add(1, std::memory_order_relaxed)) {
        const int64_t t = item % T, kvh = item / T;
        const BatchToken& bt = b.tokens[static_cast<size_t>(t)];
        const BatchSeq& s = b.seqs[static_cast<size_t>(bt.seq)];
        const int64_t n_ctx = bt.pos + 1;
        const float* qh = q + t * Dq + kvh * group * hd;  // heads kvh*group .. kvh*group + group - 1
        attention.round_f16(qh, qf, group * hd);
        for (int64_t j = 0; j * bs < n_ctx; j++) {
          kb[j] = kv.k(layer, s.blocks[j], kvh);
          vb[j] = kv.v(layer, s.blocks[j], kvh);
        }
        attention.attend_group(qf, static_cast<int>(group), kb, vb, static_cast<int>(n_ctx), bs, static_cast<int>(hd),
                               kq_scale, scores, A.scores_stride, attn + t * Dq + kvh * group * hd);
      }
    });
    timer.mark(kProfAttn);

    // ---- attention output projection: (T, Dq) -> xn (T, D); residual added below
    const Matrix* wo_m[1] = {&L.wo};
    const ActSet wo = act_set(wo_m, 1);
    pool.parallel([&](int ith, int nth) {
      int64_t t0, t1;
      split_range(Tm, ith, nth, &t0, &t1);
      convert(wo, attn, Dq, Tm, t0, t1);
    });
    {
      MatmulJob jo(K, L.wo, wo.of[0], Tm, xn, streamed(plan.tile(l, kMatO)), nth);
      pool.parallel([&](int ith, int) { jo.run(ith); });
    }
    timer.mark(kProfO);

    // ---- residual + FFN RMSNorm + conversion, by rows
    const Matrix* gu_m[2] = {&L.w_gate, &L.w_up};
    const ActSet gu = act_set(gu_m, 2);
    pool.parallel([&](int ith, int nth) {
      int64_t t0, t1;
      split_range(Tm, ith, nth, &t0, &t1);
      for (int64_t t = t0; t < t1 && t < T; t++) {
        for (int64_t i = 0; i < D; i++) x[t * D + i] += xn[t * D + i];
        rms_norm(x + t * D, L.ffn_norm, xn + t * D, D, eps);
      }
      convert(gu, xn, D, Tm, t0, t1);
    });
    timer.mark(kProfNorm);

    // ---- gate and up projections: (T, D) -> (T, F) each
    {
      MatmulJob jg(K, L.w_gate, gu.of[0], Tm, gate, streamed(plan.tile(l, kMatGate)), nth);
      MatmulJob ju(K, L.w_up, gu.of[1], Tm, up, streamed(plan.tile(l, kMatUp)), nth);
      pool.parallel([&](int ith, int) {
        jg.run(ith);
        ju.run(ith);
      });
    }
    timer.mark(kProfGateUp);

    // ---- SwiGLU: gate = silu(gate) * up; conversion for the down projection
    const Matrix* dn_m[1] = {&L.w_down};
    const ActSet dn = act_set(dn_m, 1);
    pool.parallel([&](int ith, int nth) {
      int64_t t0, t1;
      split_range(Tm, ith, nth, &t0, &t1);
      attention.silu_mul(gate + t0 * F, up + t0 * F, (t1 - t0) * F);
      convert(dn, gate, F, Tm, t0, t1);
    });
    timer.mark(kProfSwiglu);

    // ---- down projection: (T, F) -> xn (T, D); residual added by the next stage
    {
      MatmulJob jd(K, L.w_down, dn.of[0], Tm, xn, streamed(plan.tile(l, kMatDown)), nth);
      pool.parallel([&](int ith, int) { jd.run(ith); });
    }
    pending_residual = true;
    timer.mark(kProfDown);
  }

  // ---- final RMSNorm and logits, only for the last token of sequences that want them
  const int64_t S = b.n_outputs;
  if (S == 0) return;
  float* rows = plan.at<float>(A.out_rows);  // (S, D)
  float* logits = plan.at<float>(A.logits);  // (S, n_vocab)
  const Matrix* out_m[1] = {&W.output};
  const ActSet out = act_set(out_m, 1);
  pool.parallel([&](int ith, int nth) {
    int64_t s0, s1;
    split_range(static_cast<int64_t>(b.seqs.size()), ith, nth, &s0, &s1);
    for (int64_t si = s0; si < s1; si++) {
      const BatchSeq& s = b.seqs[static_cast<size_t>(si)];
      if (s.output < 0) continue;
      const int64_t t = s.first + s.n_tokens - 1;
      float* r = rows + s.output * D;
      for (int64_t i = 0; i < D; i++) r[i] = x[t * D + i] + xn[t * D + i];
      rms_norm(r, W.output_norm, r, D, eps);
    }
  });
  pool.parallel([&](int ith, int nth) {
    int64_t r0, r1;
    split_range(S, ith, nth, &r0, &r1);
    convert(out, rows, D, S, r0, r1);
  });
  MatmulJob jout(K, W.output, out.of[0], S, logits, streamed(plan.output_tile), nth);
  pool.parallel([&](int ith, int) { jout.run(ith); });
  timer.mark(kProfOutput);
}

}  // namespace gb
