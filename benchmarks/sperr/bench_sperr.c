/* In-process timing of SPERR's C API: best-of-N CPU and wall seconds of compress and decompress. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <math.h>
#include "SPERR_C_API.h"
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char** argv) {
  if (argc < 8) { fprintf(stderr, "usage: %s file.f32 dimx dimy dimz bpp threads reps\n", argv[0]); return 2; }
  size_t nx = atol(argv[2]), ny = atol(argv[3]), nz = atol(argv[4]); double bpp = atof(argv[5]);
  size_t th = atol(argv[6]); int reps = atoi(argv[7]); size_t n = nx * ny * nz;
  float* in = malloc(n * sizeof(float)); FILE* f = fopen(argv[1], "rb");
  if (fread(in, sizeof(float), n, f) != n) { fprintf(stderr, "short read\n"); return 1; } fclose(f);
  double bc = 1e9, bw = 1e9, dc = 1e9, dw = 1e9; size_t len = 0; void* out = NULL;
  double lo = 1e30, hi = -1e30, se = 0;
  for (int r = 0; r < reps; r++) {
    void* bits = NULL; double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    if (sperr_comp_3d(in, 1, nx, ny, nz, 256, 256, 256, 1, bpp, th, &bits, &len)) return 1;
    double c1 = now(CLOCK_PROCESS_CPUTIME_ID), w1 = now(CLOCK_MONOTONIC);
    if (c1 - c0 < bc) bc = c1 - c0; if (w1 - w0 < bw) bw = w1 - w0;
    size_t ox, oy, oz; if (out) free(out); out = NULL;
    c0 = now(CLOCK_PROCESS_CPUTIME_ID); w0 = now(CLOCK_MONOTONIC);
    if (sperr_decomp_3d(bits, len, 1, th, &ox, &oy, &oz, &out)) return 1;
    c1 = now(CLOCK_PROCESS_CPUTIME_ID); w1 = now(CLOCK_MONOTONIC);
    if (c1 - c0 < dc) dc = c1 - c0; if (w1 - w0 < dw) dw = w1 - w0;
    free(bits);
  }
  for (size_t i = 0; i < n; i++) { double v = in[i], e = v - ((float*)out)[i]; se += e * e; if (v < lo) lo = v; if (v > hi) hi = v; }
  double mse = se / n, psnr = 10 * log10((hi - lo) * (hi - lo) / mse);
  printf("{\"bytes\": %zu, \"bpp\": %.4f, \"comp_cpu\": %.4f, \"comp_wall\": %.4f, \"decomp_cpu\": %.4f, \"decomp_wall\": %.4f, \"psnr\": %.3f}\n",
         len, 8.0 * len / n, bc, bw, dc, dw, psnr);
  return 0;
}
