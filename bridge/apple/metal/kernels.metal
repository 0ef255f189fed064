// kernels.metal: pipe's vector kernels, compiled at run time with
// newLibraryWithSource. One thread per output row (per output element for
// matmul). Each kernel mirrors the CPU kernel of stages/vector operation for
// operation, so results agree to float32 rounding.
#include <metal_stdlib>
using namespace metal;

struct pipe_dims {
  uint n;    // rows
  uint k;    // values per input row
  uint m;    // matmul: columns of the matrix
  uint topk; // topk: values kept per row
};

kernel void pipe_normalize(device const float *x [[buffer(0)]], device float *y [[buffer(1)]],
                           constant pipe_dims &d [[buffer(2)]], uint row [[thread_position_in_grid]]) {
  if (row >= d.n) return;
  device const float *xr = x + row * d.k;
  device float *yr = y + row * d.k;
  float s = 0.0f;
  for (uint i = 0; i < d.k; i++) s += xr[i] * xr[i];
  float inv = s > 0.0f ? 1.0f / sqrt(s) : 0.0f;
  for (uint i = 0; i < d.k; i++) yr[i] = xr[i] * inv;
}

kernel void pipe_matmul(device const float *x [[buffer(0)]], device const float *w [[buffer(3)]],
                        device float *y [[buffer(1)]], constant pipe_dims &d [[buffer(2)]],
                        uint2 pos [[thread_position_in_grid]]) {
  uint col = pos.x, row = pos.y;
  if (row >= d.n || col >= d.m) return;
  float s = 0.0f;
  for (uint i = 0; i < d.k; i++) s += x[row * d.k + i] * w[i * d.m + col];
  y[row * d.m + col] = s;
}

kernel void pipe_softmax(device const float *x [[buffer(0)]], device float *y [[buffer(1)]],
                         constant pipe_dims &d [[buffer(2)]], uint row [[thread_position_in_grid]]) {
  if (row >= d.n || d.k == 0) return;
  device const float *xr = x + row * d.k;
  device float *yr = y + row * d.k;
  float mx = xr[0];
  for (uint i = 1; i < d.k; i++) mx = max(mx, xr[i]);
  float s = 0.0f;
  for (uint i = 0; i < d.k; i++) {
    yr[i] = exp(xr[i] - mx);
    s += yr[i];
  }
  for (uint i = 0; i < d.k; i++) yr[i] /= s;
}

// pipe_above reports whether v ranks before c: larger first, NaN last.
static inline bool pipe_above(float v, float c) { return v > c || (isnan(c) && !isnan(v)); }

// pipe_topk keeps the topk largest values of each row in descending order,
// ties by lower index, NaN last.
kernel void pipe_topk(device const float *x [[buffer(0)]], device float *vals [[buffer(1)]],
                      constant pipe_dims &d [[buffer(2)]], device int *idx [[buffer(4)]],
                      uint row [[thread_position_in_grid]]) {
  if (row >= d.n) return;
  device const float *xr = x + row * d.k;
  device float *vr = vals + row * d.topk;
  device int *ir = idx + row * d.topk;
  uint count = 0;
  for (uint i = 0; i < d.k; i++) {
    float v = xr[i];
    if (count == d.topk && !pipe_above(v, vr[count - 1])) continue;
    uint j = count < d.topk ? count : d.topk - 1;
    while (j > 0 && pipe_above(v, vr[j - 1])) {
      vr[j] = vr[j - 1];
      ir[j] = ir[j - 1];
      j--;
    }
    vr[j] = v;
    ir[j] = int(i);
    if (count < d.topk) count++;
  }
}
