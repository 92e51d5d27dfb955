#include "kernels/ref.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "common/half.h"

namespace gb {

void ref_dequantize_row(GgmlType t, const void* src, float* out, int64_t n) {
  switch (t) {
    case GgmlType::F32: std::memcpy(out, src, static_cast<size_t>(n) * 4); return;
    case GgmlType::F16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; i++) out[i] = f16_to_f32(h[i]);
      return;
    }
    case GgmlType::BF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; i++) out[i] = bf16_to_f32(h[i]);
      return;
    }
    case GgmlType::Q8_0: {
      const BlockQ8_0* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n / QK8_0; i++) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < QK8_0; j++) out[i * QK8_0 + j] = d * b[i].qs[j];
      }
      return;
    }
    case GgmlType::Q4_0: {
      const BlockQ4_0* b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < n / QK4_0; i++) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
          out[i * QK4_0 + j] = d * ((b[i].qs[j] & 0x0F) - 8);
          out[i * QK4_0 + j + 16] = d * ((b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case GgmlType::Q4_K: {
      const BlockQ4_K* b = static_cast<const BlockQ4_K*>(src);
      for (int64_t i = 0; i < n / QK_K; i++) {
        float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        float* y = out + i * QK_K;
        for (int j = 0; j < QK_K; j += 64) {
          uint8_t sc, m;
          q4k_scale_min(j / 32, b[i].scales, &sc, &m);
          float d1 = d * sc, m1 = dmin * m;
          q4k_scale_min(j / 32 + 1, b[i].scales, &sc, &m);
          float d2 = d * sc, m2 = dmin * m;
          for (int l = 0; l < 32; l++) y[j + l] = d1 * (q[l] & 0xF) - m1;
          for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * (q[l] >> 4) - m2;
          q += 32;
        }
      }
      return;
    }
    case GgmlType::Q6_K: {
      const BlockQ6_K* b = static_cast<const BlockQ6_K*>(src);
      for (int64_t i = 0; i < n / QK_K; i++) {
        float d = f16_to_f32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        float* y = out + i * QK_K;
        for (int half = 0; half < 2; half++) {
          for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * sc[is] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
          }
          y += 128;
          ql += 64;
          qh += 32;
          sc += 8;
        }
      }
      return;
    }
    default: fail("dequantize: unsupported type %s", ggml_type_name(t));
  }
}

void ref_quantize_q8_0(const float* x, int64_t n, int8_t* qs, float* d, int32_t* sums) {
  for (int64_t i = 0; i < n / QK8_0; i++) {
    const float* xb = x + i * QK8_0;
    float amax = 0;
    for (int j = 0; j < QK8_0; j++) amax = std::fmax(amax, std::fabs(xb[j]));
    // As ggml's x86 quantize_row_q8_0: scale stored as f16, quants from 127/amax, ties to even.
    d[i] = round_f16(amax / 127.f);
    float id = amax != 0.f ? 127.f / amax : 0.f;
    int32_t s = 0;
    for (int j = 0; j < QK8_0; j++) {
      int v = static_cast<int>(std::nearbyint(xb[j] * id));
      qs[i * QK8_0 + j] = static_cast<int8_t>(v);
      s += v;
    }
    if (sums) sums[i] = s;
  }
}

void ref_quantize_q8_K(const float* x, int64_t n, BlockQ8_K* out) {
  for (int64_t i = 0; i < n / QK_K; i++) {
    const float* xb = x + i * QK_K;
    BlockQ8_K& y = out[i];
    float max = 0, amax = 0;
    for (int j = 0; j < QK_K; j++) {
      float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax == 0) {
      y.d = 0;
      std::memset(y.qs, 0, sizeof(y.qs));
      std::memset(y.bsums, 0, sizeof(y.bsums));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < QK_K; j++) {
      // The product is rounded to float before nearest_int's magic-number add on every target:
      // GCC's default -ffp-contract=fast would otherwise fuse the two into one FMA where the base ISA
      // has it (aarch64), which rounds the exact product and differs from x86 near ties.
      volatile float p = iscale * xb[j];
      int v = nearest_int(p);
      y.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < QK_K / 16; j++) {
      int s = 0;
      for (int l = 0; l < 16; l++) s += y.qs[j * 16 + l];
      y.bsums[j] = static_cast<int16_t>(s);
    }
    y.d = 1 / iscale;
  }
}

double ref_vec_dot_q8_0(const BlockQ8_0* w, const int8_t* xq, const float* xd, int64_t K) {
  double sum = 0;
  for (int64_t i = 0; i < K / QK8_0; i++) {
    int32_t isum = 0;
    for (int j = 0; j < QK8_0; j++) isum += w[i].qs[j] * xq[i * QK8_0 + j];
    sum += static_cast<double>(isum) * (f16_to_f32(w[i].d) * xd[i]);
  }
  return sum;
}

double ref_vec_dot_q4_0(const BlockQ4_0* w, const int8_t* xq, const float* xd, int64_t K) {
  double sum = 0;
  for (int64_t i = 0; i < K / QK4_0; i++) {
    int32_t isum = 0;
    for (int j = 0; j < QK4_0 / 2; j++) {
      isum += ((w[i].qs[j] & 0x0F) - 8) * xq[i * QK4_0 + j];
      isum += ((w[i].qs[j] >> 4) - 8) * xq[i * QK4_0 + j + 16];
    }
    sum += static_cast<double>(isum) * (f16_to_f32(w[i].d) * xd[i]);
  }
  return sum;
}

double ref_vec_dot_q4_K(const BlockQ4_K* w, const BlockQ8_K* x, int64_t K) {
  double sum = 0;
  for (int64_t i = 0; i < K / QK_K; i++) {
    const uint8_t* q = w[i].qs;
    const int8_t* q8 = x[i].qs;
    int32_t scaled = 0, mins = 0;
    for (int j = 0; j < QK_K / 32; j++) {
      uint8_t sc, m;
      q4k_scale_min(j, w[i].scales, &sc, &m);
      const uint8_t* qq = q + (j / 2) * 32;
      int32_t isum = 0;
      for (int l = 0; l < 32; l++) {
        int v = (j % 2 == 0) ? (qq[l] & 0xF) : (qq[l] >> 4);
        isum += v * q8[j * 32 + l];
      }
      scaled += sc * isum;
      mins += m * (x[i].bsums[2 * j] + x[i].bsums[2 * j + 1]);
    }
    sum += static_cast<double>(f16_to_f32(w[i].d) * x[i].d) * scaled -
           static_cast<double>(f16_to_f32(w[i].dmin) * x[i].d) * mins;
  }
  return sum;
}

double ref_vec_dot_q6_K(const BlockQ6_K* w, const BlockQ8_K* x, int64_t K) {
  double sum = 0;
  for (int64_t i = 0; i < K / QK_K; i++) {
    int8_t q[QK_K];
    const uint8_t* ql = w[i].ql;
    const uint8_t* qh = w[i].qh;
    for (int half = 0; half < 2; half++) {
      int8_t* y = q + half * 128;
      for (int l = 0; l < 32; l++) {
        y[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        y[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        y[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        y[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      ql += 64;
      qh += 32;
    }
    int32_t scaled = 0;
    for (int j = 0; j < QK_K / 16; j++) {
      int32_t isum = 0;
      for (int l = 0; l < 16; l++) isum += q[j * 16 + l] * x[i].qs[j * 16 + l];
      scaled += w[i].scales[j] * isum;
    }
    sum += static_cast<double>(f16_to_f32(w[i].d) * x[i].d) * scaled;
  }
  return sum;
}

double ref_vec_dot_f16(const uint16_t* w, const uint16_t* x, int64_t K) {
  double sum = 0;
  for (int64_t k = 0; k < K; k++) sum += static_cast<double>(f16_to_f32(w[k])) * f16_to_f32(x[k]);
  return sum;
}

double ref_vec_dot_bf16(const uint16_t* w, const uint16_t* x, int64_t K) {
  double sum = 0;
  for (int64_t k = 0; k < K; k++) sum += static_cast<double>(bf16_to_f32(w[k])) * bf16_to_f32(x[k]);
  return sum;
}

double ref_vec_dot_f32(const float* w, const float* x, int64_t K) {
  double sum = 0;
  for (int64_t k = 0; k < K; k++) sum += static_cast<double>(w[k]) * x[k];
  return sum;
}

void ref_matmul(GgmlType t, const void* w, int64_t N, int64_t K, const float* x, int64_t M, float* y) {
  GgmlTypeInfo info = ggml_type_info(static_cast<uint32_t>(t));
  const size_t row_bytes = static_cast<size_t>(K / info.block * info.bytes);
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  std::vector<int8_t> xq(static_cast<size_t>(K));
  std::vector<float> xd(static_cast<size_t>(K / 32 + 1));
  std::vector<BlockQ8_K> xk(static_cast<size_t>(K / QK_K + 1));
  std::vector<uint16_t> xh(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; m++) {
    const float* xr = x + m * K;
    switch (t) {
      case GgmlType::Q8_0:
      case GgmlType::Q4_0: ref_quantize_q8_0(xr, K, xq.data(), xd.data(), nullptr); break;
      case GgmlType::Q4_K:
      case GgmlType::Q6_K: ref_quantize_q8_K(xr, K, xk.data()); break;
      case GgmlType::F16:
        for (int64_t k = 0; k < K; k++) xh[k] = f32_to_f16(xr[k]);
        break;
      case GgmlType::BF16:
        for (int64_t k = 0; k < K; k++) xh[k] = f32_to_bf16(xr[k]);
        break;
      case GgmlType::F32: break;
      default: fail("ref_matmul: unsupported type %s", ggml_type_name(t));
    }
    for (int64_t n = 0; n < N; n++) {
      const void* row = wb + n * row_bytes;
      double v = 0;
      switch (t) {
        case GgmlType::Q8_0: v = ref_vec_dot_q8_0(static_cast<const BlockQ8_0*>(row), xq.data(), xd.data(), K); break;
        case GgmlType::Q4_0: v = ref_vec_dot_q4_0(static_cast<const BlockQ4_0*>(row), xq.data(), xd.data(), K); break;
        case GgmlType::Q4_K: v = ref_vec_dot_q4_K(static_cast<const BlockQ4_K*>(row), xk.data(), K); break;
        case GgmlType::Q6_K: v = ref_vec_dot_q6_K(static_cast<const BlockQ6_K*>(row), xk.data(), K); break;
        case GgmlType::F16: v = ref_vec_dot_f16(static_cast<const uint16_t*>(row), xh.data(), K); break;
        case GgmlType::BF16: v = ref_vec_dot_bf16(static_cast<const uint16_t*>(row), xh.data(), K); break;
        case GgmlType::F32: v = ref_vec_dot_f32(static_cast<const float*>(row), xr, K); break;
        default: break;
      }
      y[m * N + n] = static_cast<float>(v);
    }
  }
}

}  // namespace gb
