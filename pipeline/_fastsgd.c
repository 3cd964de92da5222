/* pipeline._fastsgd: the post's training loop (Linear(25, 10, bias=False) + log_softmax,
 * nll_loss, SGD with momentum, one sample per step in dataset order) in plain C.
 *
 * Every step does, in float32, the same operations in the same order as PyTorch 2.13 on
 * the CPU (MKL sgemm, ATen's AVX512 kernels with SLEEF's exp/log):
 *
 *   z      = W x                      MKL's summation order for a 1x25 . 25x10 product
 *   out    = (z - max z) - log(sum_k exp(z_k - max z))   SLEEF expf_u10 / logf_u10
 *   loss   = 0 - out[t]
 *   grad_z = exp(out) - onehot(t)     log_softmax backward with grad_out = -1 at t
 *   grad_W = grad_z (x) x
 *   buf    = grad_W (first step) | buf * momentum + grad_W
 *   W      = fma(buf, -lr, W)         ATen's add_(buf, alpha=-lr) is a fused multiply-add
 *
 * Where PyTorch fuses a multiply and an add (ATen's add_ with alpha, SLEEF's polynomials) this
 * code calls fmaf; where it does not (MKL's dot products here) it multiplies, then adds.
 *
 * Reproducibility: only IEEE-754 operations that are correctly rounded by definition are
 * used (+, -, *, /, fma, compares, integer bit tricks); no libm transcendental function is
 * called, so the result does not depend on the C library. The module must be compiled with
 * -ffp-contract=off (setup.py passes it): the compiler must not fuse a*b+c where the code
 * does not say fmaf. The loop is compiled twice, for AVX2+FMA and for the baseline ISA, and
 * the variant is chosen at run time; both give bit-identical results (tests check it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define IN 25
#define OUT 10
#define LANES 16 /* OUT padded: W is kept transposed, w[k][j], lanes 10..15 stay zero */

typedef struct {
    float w[IN][LANES];
    float buf[IN][LANES];
} State;

#define INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------ bit helpers */

INLINE float from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
INLINE uint32_t to_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

/* 2**q for -126 <= q <= 127 */
INLINE float pow2i(int32_t q) { return from_bits((uint32_t)(q + 0x7f) << 23); }

/* ------------------------------------------------------------------ SLEEF expf_u10
 * xexpf of sleefsimdsp.c with vmla = fma (its AVX2/AVX512 builds), for d <= 0, which is all
 * log_softmax asks (z - max z and its outputs), and NaN. Written without branches so the
 * compiler can vectorise it; below -104 the result is 0 as in SLEEF. */
#define R_LN2f 1.442695040888963407359924681001892137426645954152985934135449406931f
#define L2Uf 0.693145751953125f
#define L2Lf 1.428606765330187045e-06f

INLINE float sleef_expf(float d) {
    /* q = rint(d / ln 2), ties to even, as cvtps2dq: exact for |d / ln 2| < 2**22, and for
     * larger |d| (then d < -104) well defined garbage that the mask below discards. */
    const float magic = 12582912.0f; /* 1.5 * 2**23 */
    float r = d * R_LN2f + magic;
    float qf = r - magic;
    int32_t q = (int32_t)(to_bits(r) - to_bits(magic));
    float s = fmaf(qf, -L2Uf, d);
    s = fmaf(qf, -L2Lf, s);
    float u = 0.000198527617612853646278381f;
    u = fmaf(u, s, 0.00139304355252534151077271f);
    u = fmaf(u, s, 0.00833336077630519866943359f);
    u = fmaf(u, s, 0.0416664853692054748535156f);
    u = fmaf(u, s, 0.166666671633720397949219f);
    u = fmaf(u, s, 0.5f);
    u = 1.0f + fmaf(s * s, u, s);
    int32_t h = q >> 1; /* arithmetic shift, as vsra */
    u = (u * pow2i(h)) * pow2i(q - h);
    uint32_t under = (uint32_t)0 - (uint32_t)(d < -104.0f);
    return from_bits(to_bits(u) & ~under);
}

/* ------------------------------------------------------------------ SLEEF logf_u10
 * xlogf_u1 of sleefsimdsp.c, AVX512 variant (getexp/getmant), FMA double-float helpers, for
 * d >= 1 (a sum of exps that contains exp(0) = 1); inf and NaN come back as they are. */
INLINE float sleef_logf(float d) {
    if (!(d <= 3.40282347e38f)) return d;
    float p = d * (1.0f / 0.75f);
    float e = (float)((int32_t)((to_bits(p) >> 23) & 0xff) - 127);      /* getexp(p) */
    uint32_t bits = to_bits(d);                                            /* getmant(d, [0.75, 1.5)) */
    float m = from_bits((bits & 0x007fffffu) | ((bits & 0x00400000u) ? 0x3f000000u : 0x3f800000u));

    /* s = dfmul((ln2 hi, ln2 lo), e) */
    float sx = 0.69314718246459960938f * e;
    float sy = fmaf(-1.904654323148236017e-09f, e, fmaf(0.69314718246459960938f, e, -sx));

    /* x = dfdiv(dfadd2(-1, m), dfadd2(1, m)) */
    float nx = -1.0f + m, nv = nx - -1.0f;
    float ny = (-1.0f - (nx - nv)) + (m - nv);
    float dx = 1.0f + m, dv = dx - 1.0f;
    float dy = (1.0f - (dx - dv)) + (m - dv);
    float t = 1.0f / dx;
    float qx = nx * t;
    float u = fmaf(t, nx, -qx);
    float v = fmaf(-dy, t, fmaf(-dx, t, 1.0f));
    float qy = fmaf(qx, v, fmaf(ny, t, u));

    float x2 = qx * qx;
    float c = 0.3027294874f;
    c = fmaf(c, x2, 0.3996108174f);
    c = fmaf(c, x2, 0.6666694880f);

    /* s = dfadd(s, dfscale(x, 2)) */
    float yx = qx * 2.0f, yy = qy * 2.0f;
    float s1 = sx + yx;
    float t1 = (((sx - s1) + yx) + sy) + yy;
    /* s = dfadd(s, x2 * x * c) */
    float w = (x2 * qx) * c;
    float s2 = s1 + w;
    float t2 = ((s1 - s2) + w) + t1;
    return s2 + t2;
}

/* ------------------------------------------------------------------ forward: z = W x
 * The association MKL 2024.2's sgemm uses for a 1x25 . 25x10 product on the machines this
 * project runs on (AMD EPYC, torch's AVX512 build), measured output by output: with the input
 * all ones and W[j] zero but for +2**30, -2**30 and 1 at three places, the 1 survives exactly
 * when the two big terms meet before it joins them; all triples give the tree. Outputs 0..7
 * share one order (four interleaved partial sums), 8 and 9 each have their own. Products are
 * rounded, then added: MKL does not fuse them here. Another CPU may make MKL sum otherwise;
 * then torch and this kernel agree within rounding (tests/test_fast.py checks both cases). */
#define P(j, k) (W[k][j] * x[k])
#define F(acc, j, k) acc = acc + W[k][j] * x[k]

INLINE void forward(const float W[IN][LANES], const float *x, float z[LANES]) {
    float a[8], b[8], c[8], d[8];
    for (int j = 0; j < 8; j++) {
        a[j] = P(j, 0);
        F(a[j], j, 1);
        b[j] = P(j, 2);
        c[j] = P(j, 3);
        d[j] = P(j, 4);
    }
    for (int k = 5; k < IN; k += 4) {
        for (int j = 0; j < 8; j++) {
            F(a[j], j, k);
            F(b[j], j, k + 1);
            F(c[j], j, k + 2);
            F(d[j], j, k + 3);
        }
    }
    for (int j = 0; j < 8; j++) z[j] = (a[j] + c[j]) + (b[j] + d[j]);

    { /* row 8: 0..4 in order, then eight lanes over 4..19, then 20..24 in order */
        float l[8];
        float s = P(8, 0);
        for (int k = 1; k <= 4; k++) F(s, 8, k);
        l[0] = s;
        for (int i = 1; i < 8; i++) l[i] = P(8, 4 + i);
        F(l[0], 8, 12);
        for (int i = 1; i < 8; i++) F(l[i], 8, 12 + i);
        s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        for (int k = 20; k < IN; k++) F(s, 8, k);
        z[8] = s;
    }
    { /* row 9: 0..4 in order, then four lanes over 4..19, then 20..24 in order */
        float l[4];
        float s = P(9, 0);
        for (int k = 1; k <= 4; k++) F(s, 9, k);
        l[0] = s;
        for (int i = 1; i < 4; i++) l[i] = P(9, 4 + i);
        for (int k = 8; k < 20; k += 4) {
            F(l[0], 9, k);
            for (int i = 1; i < 4; i++) F(l[i], 9, k + i);
        }
        s = (l[0] + l[2]) + (l[1] + l[3]);
        for (int k = 20; k < IN; k++) F(s, 9, k);
        z[9] = s;
    }
    for (int j = OUT; j < LANES; j++) z[j] = -1e30f;
}
#undef P
#undef F

/* ------------------------------------------------------------------ log_softmax
 * ATen's lastdim kernel for a row of 10 (shorter than one AVX512 vector): max, then the exps
 * summed in order, log, then (z - max) - log. Lanes 10..15 of z must be -1e30; those of out
 * come back hugely negative, so that exp of them is 0. */
INLINE void log_softmax(const float z[LANES], float out[LANES]) {
    float e[LANES];
    float mx = z[0]; /* vec::maximum: NaN propagates */
    for (int j = 1; j < OUT; j++) mx = (z[j] > mx || z[j] != z[j]) ? z[j] : mx;
    for (int j = 0; j < LANES; j++) e[j] = sleef_expf(z[j] - mx);
    float sum = e[0];
    for (int j = 1; j < OUT; j++) sum = sum + e[j];
    float lse = sleef_logf(sum);
    for (int j = 0; j < LANES; j++) out[j] = (z[j] - mx) - lse;
}

/* ------------------------------------------------------------------ one step */

/* Returns the step's loss (float, as torch's loss tensor). */
INLINE float step(State *st, const float *x, int64_t target, int use_momentum, int first, float neg_lr,
                  float mom) {
    float z[LANES], out[LANES], gz[LANES];
    forward(st->w, x, z); /* lanes 10..15 come back as -1e30 */
    log_softmax(z, out);

    /* log_softmax backward, grad_out - exp(out) * sum(grad_out) with grad_out = -onehot(t):
     * exp(out) - onehot(t), exactly */
    float onehot[LANES] = {0.0f};
    onehot[target] = 1.0f;
    for (int j = 0; j < LANES; j++) gz[j] = sleef_expf(out[j]) - onehot[j];

    if (!use_momentum) { /* SGD without momentum keeps no buffer */
        for (int k = 0; k < IN; k++) {
            float xk = x[k];
            for (int j = 0; j < LANES; j++) st->w[k][j] = fmaf(gz[j] * xk, neg_lr, st->w[k][j]);
        }
    } else if (first) { /* the first step ever: buf = clone(grad) */
        for (int k = 0; k < IN; k++) {
            float xk = x[k];
            for (int j = 0; j < LANES; j++) {
                float g = gz[j] * xk;
                st->buf[k][j] = g;
                st->w[k][j] = fmaf(g, neg_lr, st->w[k][j]);
            }
        }
    } else { /* buf.mul_(momentum).add_(grad); param.add_(buf, alpha=-lr) */
        for (int k = 0; k < IN; k++) {
            float xk = x[k];
            for (int j = 0; j < LANES; j++) {
                float b = st->buf[k][j] * mom + gz[j] * xk;
                st->buf[k][j] = b;
                st->w[k][j] = fmaf(b, neg_lr, st->w[k][j]);
            }
        }
    }
    return 0.0f - out[target]; /* nll_loss: a partial sum starting at 0 minus the picked output */
}

typedef struct {
    const float *data;
    const int64_t *targets;
    Py_ssize_t n;
    int use_momentum; /* momentum != 0, decided on the double as torch's `if momentum != 0` */
    float neg_lr, mom;
    Py_ssize_t epochs;
    const int64_t *snap;
    Py_ssize_t nsnap;
    float *snap_out;
    double *loss_out;
} Job;

INLINE void store_weights(const State *st, float *dst) {
    for (int j = 0; j < OUT; j++)
        for (int k = 0; k < IN; k++) dst[j * IN + k] = st->w[k][j];
}

/* Runs job->epochs passes; returns whether a momentum buffer exists afterwards. */
INLINE int run_body(State *st, int has_buf, const Job *job) {
    Py_ssize_t si = 0;
    for (Py_ssize_t epoch = 1; epoch <= job->epochs; epoch++) {
        double total = 0.0;
        for (Py_ssize_t i = 0; i < job->n; i++) {
            int first = job->use_momentum && !has_buf;
            float loss = step(st, job->data + i * IN, job->targets[i], job->use_momentum, first,
                              job->neg_lr, job->mom);
            if (job->use_momentum) has_buf = 1;
            total += (double)loss;
        }
        job->loss_out[epoch - 1] = total / (double)job->n;
        while (si < job->nsnap && job->snap[si] == epoch) {
            store_weights(st, job->snap_out + si * OUT * IN);
            si++;
        }
    }
    return has_buf;
}

static int run_generic(State *st, int has_buf, const Job *job) { return run_body(st, has_buf, job); }

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_VARIANT 1
__attribute__((target("avx2,fma")))
static int run_avx2(State *st, int has_buf, const Job *job) { return run_body(st, has_buf, job); }

static int cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define HAVE_AVX2_VARIANT 0
#endif

/* ------------------------------------------------------------------ evaluation
 * model(data) on the whole dataset (10 x 25) for the snapshots, as MKL's sgemm sums a
 * 10x25 . 25x10 product here: the order depends on the output's column (0..7 or 8..9) and on
 * the data row's address modulo 16 bytes, which for a 16-byte aligned array of 25-float rows is
 * row % 4. Each order is a postfix program over the 25 products (rounded, not fused):
 * k >= 0 pushes W[j][k] * x[k], A adds the top two. Measured like the training order. */
#define A (-1)
static const signed char EVAL_ORDER[4][2][2 * IN - 1] = {
    {{0, 4, A, 8, A, 12, A, 16, A, 20, A, 2, 6, A, 10, A, 14, A, 18, A, 22, A, A, 1, 5, A, 9, A, 13, A, 17, A, 21, A, 3, 7, A, 11, A, 15, A, 19, A, 23, A, A, A, 24, A},
     {0, 8, A, 16, A, 4, 12, A, 20, A, A, 2, 10, A, 18, A, 6, 14, A, 22, A, A, A, 1, 9, A, 17, A, 5, 13, A, 21, A, A, 3, 11, A, 19, A, 7, 15, A, 23, A, A, A, A, 24, A}},
    {{0, 1, A, 2, A, 3, A, 7, A, 11, A, 15, A, 19, A, 5, 9, A, 13, A, 17, A, 21, A, A, 4, 8, A, 12, A, 16, A, 20, A, 6, 10, A, 14, A, 18, A, 22, A, A, A, 23, A, 24, A},
     {0, 1, A, 2, A, 3, A, 11, A, 7, 15, A, A, 5, 13, A, 9, 17, A, A, A, 4, 12, A, 8, 16, A, A, 6, 14, A, 10, 18, A, A, A, A, 19, A, 20, A, 21, A, 22, A, 23, A, 24, A}},
    {{0, 1, A, 2, A, 6, A, 10, A, 14, A, 18, A, 4, 8, A, 12, A, 16, A, 20, A, A, 3, 7, A, 11, A, 15, A, 19, A, 5, 9, A, 13, A, 17, A, 21, A, A, A, 22, A, 23, A, 24, A},
     {0, 1, A, 2, A, 10, A, 6, 14, A, A, 4, 12, A, 8, 16, A, A, A, 3, 11, A, 7, 15, A, A, 5, 13, A, 9, 17, A, A, A, A, 18, A, 19, A, 20, A, 21, A, 22, A, 23, A, 24, A}},
    {{0, 1, A, 5, A, 9, A, 13, A, 17, A, 21, A, 3, 7, A, 11, A, 15, A, 19, A, 23, A, A, 2, 6, A, 10, A, 14, A, 18, A, 22, A, 4, 8, A, 12, A, 16, A, 20, A, 24, A, A, A},
     {0, 1, A, 9, A, 17, A, 5, 13, A, 21, A, A, 3, 11, A, 19, A, 7, 15, A, 23, A, A, A, 2, 10, A, 18, A, 6, 14, A, 22, A, A, 4, 12, A, 20, A, 8, 16, A, 24, A, A, A, A}},
};
#undef A

static float eval_dot(const signed char *program, const float *w, const float *x) {
    float stack[IN];
    int top = 0;
    for (int i = 0; i < 2 * IN - 1; i++) {
        int k = program[i];
        if (k >= 0) {
            stack[top++] = w[k] * x[k];
        } else {
            top--;
            stack[top - 1] = stack[top - 1] + stack[top];
        }
    }
    return stack[0];
}

/* outputs[s][i] = log_softmax(weights[s] @ data[i]) */
static void eval_outputs(const float *weights, Py_ssize_t nsets, const float *data, Py_ssize_t n, float *outputs) {
    for (Py_ssize_t s = 0; s < nsets; s++) {
        const float *w = weights + s * OUT * IN;
        for (Py_ssize_t i = 0; i < n; i++) {
            float z[LANES], out[LANES];
            for (int j = 0; j < OUT; j++) z[j] = eval_dot(EVAL_ORDER[i % 4][j < 8 ? 0 : 1], w + j * IN, data + i * IN);
            for (int j = OUT; j < LANES; j++) z[j] = -1e30f;
            log_softmax(z, out);
            memcpy(outputs + (s * n + i) * OUT, out, OUT * sizeof(float));
        }
    }
}

/* ------------------------------------------------------------------ Python interface */

static int check_len(Py_buffer *b, Py_ssize_t want, const char *name) {
    if (b->len != want) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", name, want, b->len);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(train_doc,
"train(weights, buffer, has_buffer, data, targets, lr, momentum, epochs, snapshot_epochs,\n"
"      snapshots, losses, variant='auto') -> bool\n\n"
"Run `epochs` passes over `data` (N x 25 float32, C order) with `targets` (N int64 in 0..9).\n"
"`weights` (10 x 25 float32) and `buffer` (10 x 25 float32, the momentum buffer, valid when\n"
"`has_buffer`) are updated in place. After pass e (1-based, this call's count) the weights\n"
"are copied to `snapshots[i]` for each i with snapshot_epochs[i] == e (int64, sorted).\n"
"`losses` (epochs float64) receives each pass's mean loss. Returns whether a momentum\n"
"buffer exists afterwards. variant: 'auto', 'avx2' or 'generic' (same results).");

static PyObject *py_train(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"weights", "buffer", "has_buffer", "data", "targets", "lr", "momentum",
                             "epochs", "snapshot_epochs", "snapshots", "losses", "variant", NULL};
    Py_buffer wb = {0}, bb = {0}, db = {0}, tb = {0}, sb = {0}, so = {0}, lo = {0};
    int has_buf;
    double lr, mom;
    Py_ssize_t epochs;
    const char *variant = "auto";
    PyObject *result = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "w*w*py*y*ddny*w*w*|s", kwlist, &wb, &bb, &has_buf,
                                     &db, &tb, &lr, &mom, &epochs, &sb, &so, &lo, &variant))
        return NULL;

    Py_ssize_t n = tb.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t nsnap = sb.len / (Py_ssize_t)sizeof(int64_t);
    if (check_len(&wb, OUT * IN * sizeof(float), "weights") || check_len(&bb, OUT * IN * sizeof(float), "buffer"))
        goto done;
    if (epochs < 0) { PyErr_SetString(PyExc_ValueError, "epochs must be >= 0"); goto done; }
    if (n < 1 || tb.len % sizeof(int64_t)) { PyErr_SetString(PyExc_ValueError, "targets: need N >= 1 int64"); goto done; }
    if (check_len(&db, n * IN * (Py_ssize_t)sizeof(float), "data") || sb.len % sizeof(int64_t) ||
        check_len(&so, nsnap * OUT * IN * (Py_ssize_t)sizeof(float), "snapshots") ||
        check_len(&lo, epochs * (Py_ssize_t)sizeof(double), "losses"))
        goto done;
    const int64_t *targets = (const int64_t *)tb.buf, *snap = (const int64_t *)sb.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (targets[i] < 0 || targets[i] >= OUT) {
            PyErr_Format(PyExc_ValueError, "targets[%zd] = %lld is not in 0..%d", i, (long long)targets[i], OUT - 1);
            goto done;
        }
    for (Py_ssize_t i = 0; i < nsnap; i++)
        if (snap[i] < 1 || snap[i] > epochs || (i > 0 && snap[i] < snap[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "snapshot_epochs must be sorted and in 1..epochs");
            goto done;
        }

    int (*run)(State *, int, const Job *) = run_generic;
    if (strcmp(variant, "generic") == 0) {
        run = run_generic;
    } else if (strcmp(variant, "avx2") == 0 || strcmp(variant, "auto") == 0) {
#if HAVE_AVX2_VARIANT
        if (cpu_has_avx2_fma()) run = run_avx2;
        else if (strcmp(variant, "avx2") == 0) { PyErr_SetString(PyExc_RuntimeError, "this CPU has no AVX2+FMA"); goto done; }
#else
        if (strcmp(variant, "avx2") == 0) { PyErr_SetString(PyExc_RuntimeError, "built without the AVX2 variant"); goto done; }
#endif
    } else {
        PyErr_Format(PyExc_ValueError, "variant must be 'auto', 'avx2' or 'generic', not '%s'", variant);
        goto done;
    }

    State st;
    memset(&st, 0, sizeof st);
    const float *w = (const float *)wb.buf, *b = (const float *)bb.buf;
    for (int j = 0; j < OUT; j++)
        for (int k = 0; k < IN; k++) {
            st.w[k][j] = w[j * IN + k];
            st.buf[k][j] = has_buf ? b[j * IN + k] : 0.0f;
        }
    Job job = {(const float *)db.buf, targets, n, mom != 0.0, (float)(-lr), (float)mom, epochs, snap,
               nsnap, (float *)so.buf, (double *)lo.buf};
    int had = has_buf ? 1 : 0;
    Py_BEGIN_ALLOW_THREADS
    had = run(&st, had, &job);
    Py_END_ALLOW_THREADS
    store_weights(&st, (float *)wb.buf);
    if (had) {
        float *bo = (float *)bb.buf;
        for (int j = 0; j < OUT; j++)
            for (int k = 0; k < IN; k++) bo[j * IN + k] = st.buf[k][j];
    }
    result = PyBool_FromLong(had);

done:
    PyBuffer_Release(&wb); PyBuffer_Release(&bb); PyBuffer_Release(&db); PyBuffer_Release(&tb);
    PyBuffer_Release(&sb); PyBuffer_Release(&so); PyBuffer_Release(&lo);
    return result;
}

PyDoc_STRVAR(outputs_doc,
"outputs(weights, data, out)\n\n"
"log_softmax(data @ w.T) for each of S weight matrices (S x 10 x 25 float32, C order) and the\n"
"N x 25 float32 `data`, into `out` (S x N x 10 float32), as PyTorch's model(data) computes it.");

static PyObject *py_outputs(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer wb = {0}, db = {0}, ob = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*", &wb, &db, &ob)) return NULL;
    Py_ssize_t nsets = wb.len / (Py_ssize_t)(OUT * IN * sizeof(float));
    Py_ssize_t n = db.len / (Py_ssize_t)(IN * sizeof(float));
    if (check_len(&wb, nsets * OUT * IN * (Py_ssize_t)sizeof(float), "weights") ||
        check_len(&db, n * IN * (Py_ssize_t)sizeof(float), "data") ||
        check_len(&ob, nsets * n * OUT * (Py_ssize_t)sizeof(float), "out"))
        goto done;
    Py_BEGIN_ALLOW_THREADS
    eval_outputs((const float *)wb.buf, nsets, (const float *)db.buf, n, (float *)ob.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&wb); PyBuffer_Release(&db); PyBuffer_Release(&ob);
    return result;
}

static PyObject *py_variant(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(unused)) {
#if HAVE_AVX2_VARIANT
    if (cpu_has_avx2_fma()) return PyUnicode_FromString("avx2");
#endif
    return PyUnicode_FromString("generic");
}

static PyMethodDef methods[] = {
    {"train", (PyCFunction)(void (*)(void))py_train, METH_VARARGS | METH_KEYWORDS, train_doc},
    {"outputs", py_outputs, METH_VARARGS, outputs_doc},
    {"variant", py_variant, METH_NOARGS, "The loop variant 'auto' picks on this CPU: 'avx2' or 'generic'."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pipeline._fastsgd",
    "The post's SGD training loop in C, step for step as PyTorch computes it.", -1, methods,
};

#ifndef FASTSGD_SOURCE_SHA256
#define FASTSGD_SOURCE_SHA256 "" /* setup.py defines it: the sha256 of this file when built */
#endif

PyMODINIT_FUNC PyInit__fastsgd(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", FASTSGD_SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
