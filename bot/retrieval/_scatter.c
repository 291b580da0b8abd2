/* The Scorer's formula (bot/retrieval/topk.py) in compiled loops, the same floats.
 *
 * score_range(out, words, bigrams, bigram_weight, tie_share, lo, hi, boosted, boosts, size, peaks[, checked])
 *   out       float64[n], writable: every passage's score; rows lo..hi-1 are zeroed a tile at a
 *             time just before they are added to (what out held there before is never read), so
 *             the caller need not zero the array (a 200k library's 1.6 MB, streamed through
 *             memory once more); rows outside lo..hi are not touched
 *   words     (indices int32[], data float32[], [[(start, end, weight), ...] per word, in order])
 *   bigrams   (indices int32[], data float32[], [(start, end, weight), ...])
 *   lo, hi    only rows lo..hi-1 are touched (a column's rows are increasing: checked)
 *   boosted   int64[] increasing rows whose score is multiplied by boosts float64[] at the end
 *   size      with peaks float64[n // size] (-inf), each complete block of size rows' largest
 *             score is kept there (its rows in lo..hi-1); 0 and an empty array: none
 *   checked   1: check_columns has found both indices' columns increasing passages (scipy's
 *             has_sorted_indices, for the same reason): each column's postings are not read
 *             again to check it; 0 (the default): they are, on every call
 *   returns   how many of rows lo..hi-1 score above 0.0
 *
 * For each row, the operations of Scorer._dense_range in the same order, each rounded as numpy
 * rounds it: a contribution is the float32 product value x (float32) weight, widened (exact); a
 * one-form word adds it to the score; a word of several forms adds best + tie x (total - best),
 * total its forms' contributions added in form order, best their largest (from 0.0), computed as
 * (total - best), x tie, + best; the pairs' sum (added in column order) x bigram_weight is added
 * last, then the boost multiplies. A row holding none of a part gets 0.0 from it, as in numpy's
 * passes over the library, which leaves its score (never -0.0) as it is. Compiled with
 * -ffp-contract=off (setup.py): no product and sum is fused. The GIL is released while it adds.
 *
 * check_columns(indices, indptr, n) -> whether every column's rows are increasing passages 0..n-1:
 * what the loops rely on, read once for an index rather than on each of its questions.
 * held(indices, columns, rows, out) is TermColumns.present_many's look-up: a binary search a row.
 * block_peaks and rows_at_least are _select's passes over the scores (each block's largest
 * score; the rows at or above the k-th largest peak, read only in the blocks reaching it);
 * best_first orders those candidates as _best does (score descending, ties by lower row).
 *
 * window_shares(out, specs, terms, pairs, pair_share) is Retriever._window_coverage's walk: the
 * share of each question word each sentence window of a judged passage holds.
 *
 * found_facts(covered, rare, rarity, necessary, specific) is relevance.feature_lists' walk over
 * each candidate's words: the rarest lacking and found, how many necessary found, any specific.
 *
 * idf_sum(idf, terms) is a rough sum of the terms' idf, in their order (duplicates.repeats'
 * quick answer, which leaves a ratio too near its bound to the exact sum).
 *
 * linear_sums(bias, weights, columns) is Relevance.probability's bias + sum of weight x feature
 * for a question's few candidates.
 *
 * covered_by_sets(out, rows, words, pair_share) is Retriever._covered_by_sets: each judged row's
 * share of each question word, from the short term columns' row sets.
 *
 * text_shares(held, pairs, specs, pair_share) is retriever._shares_in: the same shares of a
 * text (a judged passage's head) given its terms and character pairs.
 *
 * jieba_route(block, freq, known, logtotal) is bot.text.jieba_tokenize's best route through a
 * block of Chinese (jieba's calc over get_DAG), the question analyzer's hottest loop: kept here,
 * in the one compiled module the install builds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The passes over a tile (add_word, add_pairs, tile_peaks, positives_in; and largest): the same
   operation on each row, on several rows at once where the processor can (AVX2, chosen when the
   module is loaded: GCC's target_clones), each row's operations and their rounding unchanged (no
   contraction, -ffp-contract=off; a vector add, product or comparison of doubles is the scalar
   one on each lane). Kept out of line: inlined into score(), GCC vectorized none of them (their
   restrict arrays no longer told apart), and they were half of a 200k question's scoring (perf). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define PASS __attribute__((noinline, target_clones("avx2", "default")))
#endif
#endif
#ifndef PASS
#if defined(__GNUC__)
#define PASS __attribute__((noinline))
#else
#define PASS
#endif
#endif

typedef struct {
    Py_ssize_t start, end;
    float weight;
} Column;

typedef struct {
    Py_ssize_t first, count;   /* a word's columns: columns[first .. first + count - 1] */
} Word;

/* The first position in rows[start..end) holding a row >= value (rows sorted). */
static Py_ssize_t lower_bound(const int32_t *rows, Py_ssize_t start, Py_ssize_t end, Py_ssize_t value)
{
    while (start < end) {
        Py_ssize_t middle = start + (end - start) / 2;
        if (rows[middle] < value)
            start = middle + 1;
        else
            end = middle;
    }
    return start;
}

/* A column's postings within rows lo..hi-1. */
static void clip(Column *column, const int32_t *rows, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n)
{
    if (lo > 0)
        column->start = lower_bound(rows, column->start, column->end, lo);
    if (hi < n)
        column->end = lower_bound(rows, column->start, column->end, hi);
}

/* (start, end, weight) of one column, checked against the postings' length. */
static int read_column(PyObject *item, Py_ssize_t postings, Column *out)
{
    Py_ssize_t start, end;
    double weight;
    if (!PyArg_ParseTuple(item, "nnd", &start, &end, &weight))
        return -1;
    if (start < 0 || end < start || end > postings) {
        PyErr_SetString(PyExc_ValueError, "a column's postings lie outside the index");
        return -1;
    }
    out->start = start;
    out->end = end;
    out->weight = (float)weight;   /* numpy's cast of the weight to float32: round to nearest */
    return 0;
}

static int get_buffer(PyObject *object, Py_buffer *view, int writable, Py_ssize_t itemsize, const char *what)
{
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes expected", what, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Whether every column's rows are in lo..hi-1 and increasing (what the tiles' walk and its
   writes rely on: the index's columns are sorted, with distinct rows). */
static int sorted_within(const int32_t *rows, const Column *columns, Py_ssize_t count, Py_ssize_t lo, Py_ssize_t hi)
{
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t start = columns[c].start, end = columns[c].end;
        if (end == start)
            continue;
        if (rows[start] < lo || rows[end - 1] >= hi)
            return 0;
        int increasing = 1;
        for (Py_ssize_t k = start + 1; k < end; k++)
            increasing &= rows[k] > rows[k - 1];
        if (!increasing)
            return 0;
    }
    return 1;
}

/* Passages are scored a tile of rows at a time, every column's postings of the tile in turn: the
   tile's scores and working sums (3 x 128 KB) stay in the processor's cache, where a column at a
   time over the library streams its 8 bytes a passage through memory once per column. A row's
   operations are those of a column at a time, in the same order. Fewer, larger tiles meant fewer
   binary searches a column (when each tile's end was found so): the 200 sentence questions'
   scoring, in one process by turns, took 1.42 / 1.31 / 1.27 / 1.26 ms a question at 200k passages
   with tiles of 2,048 / 4,096 / 8,192 / 16,384 rows, and 7.48 / 6.85 / 6.48 / 6.39 ms at 1M (the
   whole library in one range); with the walk below, 16,384 rows (0.46 against 0.52 ms). */
#define TILE 16384

/* The rows of a range's largest tile: the working sums are zeroed this long on every call, and a
   small library's need not be a whole tile's (128 KB zeroed for the bundled 134 passages was 5 %
   of a search's instructions). */
static Py_ssize_t tile_rows(Py_ssize_t lo, Py_ssize_t hi)
{
    return hi - lo < TILE ? hi - lo : TILE;
}

/* The loops below walk a column's postings of the tile (rows below limit) CHUNK at a time while
   the last one's row is below limit (rows increase, so then all of them are), then one at a time:
   one comparison every CHUNK postings, where a binary search for the tile's end read some
   fifteen places far apart in the column (15 % of the scoring, perf). The 200k library's top 32
   of the 200 sentence questions, builds in one process by turns: p50 0.62 (a binary search) ->
   0.56 / 0.52 / 0.50 ms with 8 / 16 / 32 postings at a time, 0.46 with 16 and tiles of 16,384. */
#define CHUNK 16

/* A column's rows and values AHEAD postings on asked for now (a hint: never a fault, nothing
   read), once a chunk: a chunk of 16 postings is a cache line of each. The processor's own
   prefetching starts each of a tile's 20-odd streams (a column's rows and values) anew; asked
   for 256 postings ahead, the 200 sentence questions' whole searches at 200k, builds in one
   process by turns: per-question median -7, -1 and -1 % in three runs (128 and 512 ahead alike). */
#define AHEAD 256
static inline void ahead(const int32_t *rows, const float *values)
{
#if defined(__GNUC__)
    __builtin_prefetch(rows + AHEAD);
    __builtin_prefetch(values + AHEAD);
#else
    (void)rows;
    (void)values;
#endif
}

/* out[rows[k]] += values[k] x weight for the column's postings of the tile; *start moves past them. */
static void add_column(double *restrict out, const int32_t *restrict rows, const float *restrict values,
                       Py_ssize_t *start, Py_ssize_t end, float weight, Py_ssize_t limit)
{
    Py_ssize_t k = *start;
    for (; k + CHUNK <= end && rows[k + CHUNK - 1] < limit; k += CHUNK) {
        ahead(rows + k, values + k);
        for (int j = 0; j < CHUNK; j++)
            out[rows[k + j]] += (double)(values[k + j] * weight);
    }
    for (; k < end && rows[k] < limit; k++)
        out[rows[k]] += (double)(values[k] * weight);
    *start = k;
}

/* The span [*first, *last) of a tile's rows (from its first row, base) that some column's
   postings reached, widened to [from, to) (not empty). */
static void reach(Py_ssize_t *first, Py_ssize_t *last, Py_ssize_t from, Py_ssize_t to)
{
    if (from < *first)
        *first = from;
    if (to > *last)
        *last = to;
}

/* A word of several forms' working sums over a tile: for the tile's row at, its forms' total at
   sums[2 at] and their largest at sums[2 at + 1], side by side, so a posting reads and writes
   one place in the cache, not two arrays' (the 200k library's top 32 of the 200 sentence
   questions, builds in one process by turns: p50 0.50 -> 0.45 ms, 0.56 -> 0.52 in another run). */

/* One form's contribution to a row of a word of several: added to its total, the largest kept. */
static inline void add_form_at(double *restrict sums, Py_ssize_t at, double contribution)
{
    sums[2 * at] += contribution;
    /* stored whichever is larger: a maximum, not a branch the data mispredicts */
    sums[2 * at + 1] = contribution > sums[2 * at + 1] ? contribution : sums[2 * at + 1];
}

/* One form of a word of several over a tile: its contributions added to the rows' totals, the
   largest kept (sums, indexed from the tile's first row, base); the span its rows reach into
   [*first, *last). */
static void add_form(double *restrict sums, const int32_t *restrict rows,
                     const float *restrict values, Py_ssize_t *start, Py_ssize_t end, float weight,
                     Py_ssize_t base, Py_ssize_t limit, Py_ssize_t *first, Py_ssize_t *last)
{
    Py_ssize_t k = *start;
    for (; k + CHUNK <= end && rows[k + CHUNK - 1] < limit; k += CHUNK) {
        ahead(rows + k, values + k);
        for (int j = 0; j < CHUNK; j++)
            add_form_at(sums, rows[k + j] - base, (double)(values[k + j] * weight));
    }
    for (; k < end && rows[k] < limit; k++)
        add_form_at(sums, rows[k] - base, (double)(values[k] * weight));
    if (k > *start)
        reach(first, last, rows[*start] - base, rows[k - 1] - base + 1);
    *start = k;
}

/* One pair column over a tile: its contributions added to sum (indexed from the tile's first
   row, base); the span its rows reach into [*first, *last). */
static void add_pair(double *restrict sum, const int32_t *restrict rows, const float *restrict values,
                     Py_ssize_t *start, Py_ssize_t end, float weight, Py_ssize_t base, Py_ssize_t limit,
                     Py_ssize_t *first, Py_ssize_t *last)
{
    Py_ssize_t k = *start;
    for (; k + CHUNK <= end && rows[k + CHUNK - 1] < limit; k += CHUNK) {
        ahead(rows + k, values + k);
        for (int j = 0; j < CHUNK; j++)
            sum[rows[k + j] - base] += (double)(values[k + j] * weight);
    }
    for (; k < end && rows[k] < limit; k++)
        sum[rows[k] - base] += (double)(values[k] * weight);
    if (k > *start)
        reach(first, last, rows[*start] - base, rows[k - 1] - base + 1);
    *start = k;
}

/* tile += best + tie x (total - best), as (total - best), x tie, + best, over the rows first..last-1
   the word's forms reached (elsewhere total and best are 0.0 and the part 0.0, which leaves a
   score as it is); total and best zeroed there as they are read, not by a second pass (a
   memset) after: the 200 sentence questions' scoring at 200k passages, by turns in one process,
   1.00 -> 0.98 ms a question. */
PASS static void add_word(double *restrict tile, double *restrict sums, Py_ssize_t first, Py_ssize_t last,
                          double tie_share)
{
    for (Py_ssize_t at = first; at < last; at++) {
        double total = sums[2 * at], best = sums[2 * at + 1];
        double part = total - best;
        part = part * tie_share;
        part = part + best;
        tile[at] += part;
        sums[2 * at] = 0.0;
        sums[2 * at + 1] = 0.0;
    }
}

/* tile += sum x bigram_weight over the rows first..last-1 the pairs reached (0.0 x bigram_weight
   elsewhere, which leaves a score as it is); sum zeroed there as it is read (as add_word). */
PASS static void add_pairs(double *restrict tile, double *restrict sum, Py_ssize_t first, Py_ssize_t last,
                           double bigram_weight)
{
    for (Py_ssize_t at = first; at < last; at++) {
        tile[at] += sum[at] * bigram_weight;
        sum[at] = 0.0;
    }
}

/* The largest of most and scores[from..to-1] (the largest is the largest in any order), by
   running maxima at once: one is a chain of dependent comparisons, a maximum's latency a score
   (the 200 sentence questions' scoring at 200k passages, by turns in one process: 1.00 -> 0.94 ms
   a question, the blocks' peaks in a tile's last pass). Each maximum keeps scores[i] where it is
   greater, as the comparison x > m ? x : m does: with GCC's vectors, four of two rows each. */
PASS static double largest(const double *restrict scores, Py_ssize_t from, Py_ssize_t to, double most)
{
    Py_ssize_t i = from;
#if defined(__GNUC__)
    typedef double pair_t __attribute__((vector_size(16)));
    typedef long long mask_t __attribute__((vector_size(16)));
    pair_t lanes[4] = {{most, most}, {most, most}, {most, most}, {most, most}};
    for (; i + 8 <= to; i += 8)
        for (int lane = 0; lane < 4; lane++) {
            pair_t x;
            memcpy(&x, scores + i + 2 * lane, sizeof x);
            mask_t greater = (mask_t)(x > lanes[lane]);
            lanes[lane] = (pair_t)(((mask_t)x & greater) | ((mask_t)lanes[lane] & ~greater));
        }
    for (int lane = 0; lane < 4; lane++)
        for (int half = 0; half < 2; half++)
            most = lanes[lane][half] > most ? lanes[lane][half] : most;
#else
    double lanes[4] = {most, most, most, most};
    for (; i + 4 <= to; i += 4)
        for (int lane = 0; lane < 4; lane++)
            lanes[lane] = scores[i + lane] > lanes[lane] ? scores[i + lane] : lanes[lane];
    for (int lane = 0; lane < 4; lane++)
        most = lanes[lane] > most ? lanes[lane] : most;
#endif
    for (; i < to; i++)
        most = scores[i] > most ? scores[i] : most;
    return most;
}

/* How many of scores[from..to-1] are above 0.0. */
PASS static Py_ssize_t positives_in(const double *restrict scores, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t positives = 0;
    for (Py_ssize_t r = from; r < to; r++)
        positives += scores[r] > 0.0;
    return positives;
}

/* The largest of most and scores[from..to-1], and how many of them are above 0.0 added to
   *positives: largest's comparisons (x > m ? x : m, in any order) and positives_in's, on four
   rows at once in each of two vectors of GCC's. */
static inline double block_peak(const double *restrict scores, Py_ssize_t from, Py_ssize_t to, double most,
                                Py_ssize_t *positives)
{
    Py_ssize_t i = from, above = 0;
#if defined(__GNUC__)
    typedef double quad_t __attribute__((vector_size(32)));
    typedef long long mask4_t __attribute__((vector_size(32)));
    const quad_t zero = {0.0, 0.0, 0.0, 0.0};
    quad_t low = {most, most, most, most}, high = low;
    mask4_t low_count = {0, 0, 0, 0}, high_count = low_count;
    for (; i + 8 <= to; i += 8) {
        quad_t x, y;
        memcpy(&x, scores + i, sizeof x);
        memcpy(&y, scores + i + 4, sizeof y);
        mask4_t greater = (mask4_t)(x > low), higher = (mask4_t)(y > high);
        low = (quad_t)(((mask4_t)x & greater) | ((mask4_t)low & ~greater));
        high = (quad_t)(((mask4_t)y & higher) | ((mask4_t)high & ~higher));
        low_count -= (mask4_t)(x > zero);   /* a comparison is -1 where true */
        high_count -= (mask4_t)(y > zero);
    }
    for (int q = 0; q < 4; q++) {
        most = low[q] > most ? low[q] : most;
        most = high[q] > most ? high[q] : most;
        above += low_count[q] + high_count[q];
    }
#endif
    for (; i < to; i++) {
        most = scores[i] > most ? scores[i] : most;
        above += scores[i] > 0.0;
    }
    *positives += above;
    return most;
}

/* Each block's largest score into peaks for the blocks of size rows (from row 0) rows base..end-1
   lie in, and how many of rows base..limit-1 are above 0.0: one pass over a tile's scores, where
   a call of largest a block and positives_in after were 35 us of a 200k question's 85 us of
   passes with no term (builds by turns; 0.3 us a block, mostly the calls). */
PASS static Py_ssize_t tile_peaks(const double *restrict out, Py_ssize_t base, Py_ssize_t end, Py_ssize_t limit,
                                  Py_ssize_t size, double *restrict peaks)
{
    Py_ssize_t positives = 0, r = base;
    while (r < end) {
        Py_ssize_t block = r / size, stop = (block + 1) * size < end ? (block + 1) * size : end;
        peaks[block] = block_peak(out, r, stop, peaks[block], &positives);
        r = stop;
    }
    for (; r < limit; r++)
        positives += out[r] > 0.0;
    return positives;
}

/* After a tile's parts: its boosted rows' scores times their boost (the formula's last
   operation), then each block's largest score into peaks (blocks of size rows from row 0, the
   complete ones only) and how many scores are above 0.0. */
static Py_ssize_t finish_tile(double *restrict out, Py_ssize_t base, Py_ssize_t limit, const int64_t *boosted,
                              const double *boosts, Py_ssize_t *next_boost, Py_ssize_t boost_count,
                              Py_ssize_t size, double *peaks, Py_ssize_t blocks)
{
    Py_ssize_t b = *next_boost;
    for (; b < boost_count && boosted[b] < limit; b++)
        out[boosted[b]] = out[boosted[b]] * boosts[b];
    *next_boost = b;
    if (size > 0) {
        Py_ssize_t end = limit < blocks * size ? limit : blocks * size;
        return tile_peaks(out, base, end > base ? end : base, limit, size, peaks);
    }
    return positives_in(out, base, limit);
}

static Py_ssize_t score(double *out, double *work, const int32_t *word_rows, const float *word_values,
                        Column *columns, const Word *words, Py_ssize_t word_count,
                        const int32_t *pair_rows, const float *pair_values, Column *pairs, Py_ssize_t pair_count,
                        double bigram_weight, double tie_share, Py_ssize_t lo, Py_ssize_t hi,
                        const int64_t *boosted, const double *boosts, Py_ssize_t boost_count,
                        Py_ssize_t block_size, double *peaks, Py_ssize_t blocks)
{
    /* A word of several forms' sums (2 a row), or the pairs' sum (1 a row), of a tile: zero
       between uses; a range shorter than a tile has sums of its length (tile_rows). */
    double *sums = work, *total = work;
    int with_pairs = pair_count > 0 && bigram_weight > 0.0;
    Py_ssize_t positives = 0, next_boost = 0;
    while (next_boost < boost_count && boosted[next_boost] < lo)
        next_boost++;
    for (Py_ssize_t base = lo; base < hi; base += TILE) {
        Py_ssize_t limit = hi - base < TILE ? hi : base + TILE, size = limit - base;
        /* Zeroed here, while the tile comes into the cache it is then added to. */
        memset(out + base, 0, sizeof(double) * size);
        for (Py_ssize_t g = 0; g < word_count; g++) {
            Column *forms = columns + words[g].first;
            Py_ssize_t count = words[g].count;
            if (count == 1) {
                add_column(out, word_rows, word_values, &forms->start, forms->end, forms->weight, limit);
                continue;
            }
            /* A word of several forms: total and best of its forms over the tile, then
               best + tie x (total - best) added to every row of it (0.0 where it holds none). */
            Py_ssize_t first = size, last = 0;
            for (Py_ssize_t f = 0; f < count; f++)
                add_form(sums, word_rows, word_values, &forms[f].start, forms[f].end, forms[f].weight,
                         base, limit, &first, &last);
            add_word(out + base, sums, first, last, tie_share);
        }
        if (with_pairs) {
            /* The pairs' sum over the tile, times bigram_weight, added last. */
            Py_ssize_t first = size, last = 0;
            for (Py_ssize_t p = 0; p < pair_count; p++)
                add_pair(total, pair_rows, pair_values, &pairs[p].start, pairs[p].end, pairs[p].weight, base, limit,
                         &first, &last);
            add_pairs(out + base, total, first, last, bigram_weight);
        }
        positives += finish_tile(out, base, limit, boosted, boosts, &next_boost, boost_count, block_size, peaks,
                                 blocks);
    }
    return positives;
}

static PyObject *score_range(PyObject *self, PyObject *args)
{
    PyObject *out_object, *words_object, *bigrams_object, *boosted_object, *boosts_object, *peaks_object;
    double bigram_weight, tie_share;
    Py_ssize_t lo, hi, block_size;
    int checked = 0;
    if (!PyArg_ParseTuple(args, "OO!O!ddnnOOnO|p", &out_object, &PyTuple_Type, &words_object,
                          &PyTuple_Type, &bigrams_object, &bigram_weight, &tie_share, &lo, &hi,
                          &boosted_object, &boosts_object, &block_size, &peaks_object, &checked))
        return NULL;
    PyObject *word_rows_object, *word_values_object, *word_list, *pair_rows_object, *pair_values_object, *pair_list;
    if (!PyArg_ParseTuple(words_object, "OOO!", &word_rows_object, &word_values_object, &PyList_Type, &word_list) ||
        !PyArg_ParseTuple(bigrams_object, "OOO!", &pair_rows_object, &pair_values_object, &PyList_Type, &pair_list))
        return NULL;

    Py_buffer out = {0}, word_rows = {0}, word_values = {0}, pair_rows = {0}, pair_values = {0};
    Py_buffer boosted = {0}, boosts = {0}, peaks = {0};
    Column *columns = NULL, *pairs = NULL;
    Word *words = NULL;
    double *work = NULL;
    PyObject *result = NULL;
    if (get_buffer(out_object, &out, 1, 8, "out") < 0 ||
        get_buffer(word_rows_object, &word_rows, 0, 4, "word rows") < 0 ||
        get_buffer(word_values_object, &word_values, 0, 4, "word values") < 0 ||
        get_buffer(pair_rows_object, &pair_rows, 0, 4, "pair rows") < 0 ||
        get_buffer(pair_values_object, &pair_values, 0, 4, "pair values") < 0 ||
        get_buffer(boosted_object, &boosted, 0, 8, "boosted rows") < 0 ||
        get_buffer(boosts_object, &boosts, 0, 8, "boosts") < 0 ||
        get_buffer(peaks_object, &peaks, 1, 8, "peaks") < 0)
        goto done;
    Py_ssize_t n = out.len / 8;
    if (lo < 0 || hi > n || lo > hi) {
        PyErr_SetString(PyExc_ValueError, "lo..hi must lie within the passages");
        goto done;
    }
    if (word_rows.len != word_values.len || pair_rows.len != pair_values.len || boosted.len != boosts.len) {
        PyErr_SetString(PyExc_ValueError, "rows and values differ in length");
        goto done;
    }
    Py_ssize_t boost_count = boosted.len / 8, blocks = peaks.len / 8;
    for (Py_ssize_t b = 0; b < boost_count; b++)
        if (((int64_t *)boosted.buf)[b] < 0 || ((int64_t *)boosted.buf)[b] >= n ||
            (b > 0 && ((int64_t *)boosted.buf)[b] <= ((int64_t *)boosted.buf)[b - 1])) {
            PyErr_SetString(PyExc_ValueError, "the boosted rows are not increasing passages");
            goto done;
        }
    if (block_size < 0 || (block_size > 0 && blocks != n / block_size) || (block_size == 0 && blocks != 0)) {
        PyErr_SetString(PyExc_ValueError, "peaks must hold one place per complete block");
        goto done;
    }
    Py_ssize_t word_postings = word_rows.len / 4, pair_postings = pair_rows.len / 4;

    Py_ssize_t word_count = PyList_GET_SIZE(word_list), column_count = 0;
    for (Py_ssize_t g = 0; g < word_count; g++) {
        PyObject *forms = PyList_GET_ITEM(word_list, g);
        if (!PyList_Check(forms)) {
            PyErr_SetString(PyExc_TypeError, "a word's columns are a list");
            goto done;
        }
        column_count += PyList_GET_SIZE(forms);
    }
    Py_ssize_t pair_count = PyList_GET_SIZE(pair_list);
    columns = PyMem_Malloc(sizeof(Column) * (column_count + 1));
    words = PyMem_Malloc(sizeof(Word) * (word_count + 1));
    pairs = PyMem_Malloc(sizeof(Column) * (pair_count + 1));
    work = PyMem_Calloc(2 * tile_rows(lo, hi) + 1, sizeof(double));
    if (!columns || !words || !pairs || !work) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t at = 0, kept = 0;
    for (Py_ssize_t g = 0; g < word_count; g++) {
        PyObject *forms = PyList_GET_ITEM(word_list, g);
        Py_ssize_t count = PyList_GET_SIZE(forms);
        if (count == 0)
            continue;
        words[kept].first = at;
        words[kept].count = count;
        kept++;
        for (Py_ssize_t f = 0; f < count; f++) {
            if (read_column(PyList_GET_ITEM(forms, f), word_postings, &columns[at]) < 0)
                goto done;
            clip(&columns[at], word_rows.buf, lo, hi, n);
            at++;
        }
    }
    for (Py_ssize_t p = 0; p < pair_count; p++) {
        if (read_column(PyList_GET_ITEM(pair_list, p), pair_postings, &pairs[p]) < 0)
            goto done;
        clip(&pairs[p], pair_rows.buf, lo, hi, n);
    }
    /* Checked once, outside the loops that trust it (one pass the compiler vectorizes); a column
       of an index check_columns passed is increasing passages, within lo..hi once clipped. */
    if (!checked && (!sorted_within(word_rows.buf, columns, at, lo, hi) ||
                     !sorted_within(pair_rows.buf, pairs, pair_count, lo, hi))) {
        PyErr_SetString(PyExc_ValueError, "a column's rows are not increasing passages");
        goto done;
    }

    Py_ssize_t positives;
    Py_BEGIN_ALLOW_THREADS
    positives = score(out.buf, work, word_rows.buf, word_values.buf, columns, words, kept,
                      pair_rows.buf, pair_values.buf, pairs, pair_count, bigram_weight, tie_share, lo, hi,
                      boosted.buf, boosts.buf, boost_count, block_size, peaks.buf, blocks);
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(positives);
done:
    PyMem_Free(work);
    PyMem_Free(columns);
    PyMem_Free(words);
    PyMem_Free(pairs);
    PyBuffer_Release(&out);
    PyBuffer_Release(&word_rows);
    PyBuffer_Release(&word_values);
    PyBuffer_Release(&pair_rows);
    PyBuffer_Release(&pair_values);
    PyBuffer_Release(&boosted);
    PyBuffer_Release(&boosts);
    PyBuffer_Release(&peaks);
    return result;
}

/* check_columns(indices, indptr, n) -> bool: whether each column j's rows, indices[indptr[j] ..
   indptr[j + 1] - 1], are increasing passages 0..n-1 (indptr non-decreasing, within indices). */
static PyObject *check_columns(PyObject *self, PyObject *args)
{
    PyObject *indices_object, *indptr_object;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OOn", &indices_object, &indptr_object, &n))
        return NULL;
    Py_buffer indices = {0}, indptr = {0};
    PyObject *result = NULL;
    if (get_buffer(indices_object, &indices, 0, 4, "indices") < 0 || get_buffer(indptr_object, &indptr, 0, 8, "indptr") < 0)
        goto done;
    const int32_t *rows = indices.buf;
    const int64_t *bounds = indptr.buf;
    Py_ssize_t columns = indptr.len / 8 - 1, postings = indices.len / 4;
    int good = columns >= 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; good && j < columns; j++) {
        int64_t start = bounds[j], end = bounds[j + 1];
        if (start < 0 || end < start || end > postings) {
            good = 0;
            break;
        }
        if (start == end)
            continue;
        int increasing = rows[start] >= 0 && rows[end - 1] < n;
        for (int64_t k = start + 1; k < end; k++)
            increasing &= rows[k] > rows[k - 1];
        good = increasing;
    }
    Py_END_ALLOW_THREADS
    result = PyBool_FromLong(good);
done:
    PyBuffer_Release(&indices);
    PyBuffer_Release(&indptr);
    return result;
}

/* block_peaks(scores, size, peaks): peaks[b] = the largest of scores[b * size .. (b + 1) * size - 1]
   for each of len(peaks) blocks (the largest is the largest in any order). */
static PyObject *block_peaks(PyObject *self, PyObject *args)
{
    PyObject *scores_object, *peaks_object;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OnO", &scores_object, &size, &peaks_object))
        return NULL;
    Py_buffer scores = {0}, peaks = {0};
    PyObject *result = NULL;
    if (get_buffer(scores_object, &scores, 0, 8, "scores") < 0 || get_buffer(peaks_object, &peaks, 1, 8, "peaks") < 0)
        goto done;
    Py_ssize_t blocks = peaks.len / 8;
    if (size < 1 || blocks * size > scores.len / 8) {
        PyErr_SetString(PyExc_ValueError, "the blocks must lie within the scores");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    const double *restrict from = scores.buf;
    double *restrict to = peaks.buf;
    for (Py_ssize_t b = 0; b < blocks; b++)
        to[b] = largest(from, b * size + 1, (b + 1) * size, from[b * size]);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&scores);
    PyBuffer_Release(&peaks);
    return result;
}

/* rows_at_least(scores, floor, rows, size, peaks) -> count: the rows whose score is at least
   floor (above it when floor is 0.0) written to rows in order, and how many. With peaks (each
   complete block of size rows' largest score, as block_peaks gives them), only the blocks whose
   peak reaches floor are read, and the rows after the last block. */
static PyObject *rows_at_least(PyObject *self, PyObject *args)
{
    PyObject *scores_object, *rows_object, *peaks_object;
    double floor;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OdOnO", &scores_object, &floor, &rows_object, &size, &peaks_object))
        return NULL;
    Py_buffer scores = {0}, rows = {0}, peaks = {0};
    PyObject *result = NULL;
    if (get_buffer(scores_object, &scores, 0, 8, "scores") < 0 || get_buffer(rows_object, &rows, 1, 8, "rows") < 0 ||
        get_buffer(peaks_object, &peaks, 0, 8, "peaks") < 0)
        goto done;
    Py_ssize_t n = scores.len / 8, blocks = peaks.len / 8, count = 0;
    if (rows.len / 8 < n || size < 0 || (size > 0 && blocks != n / size) || (size == 0 && blocks != 0)) {
        PyErr_SetString(PyExc_ValueError, "rows must hold a place per score, and peaks one per complete block");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    const double *restrict from = scores.buf, *top = peaks.buf;
    int64_t *restrict to = rows.buf;
    Py_ssize_t start = 0;
    if (floor > 0.0) {
        for (Py_ssize_t b = 0; b < blocks; b++) {
            if (!(top[b] >= floor))
                continue;   /* no score of the block reaches floor */
            for (Py_ssize_t i = b * size; i < (b + 1) * size; i++)
                if (from[i] >= floor)
                    to[count++] = i;
        }
        start = blocks * size;
        for (Py_ssize_t i = start; i < n; i++)
            if (from[i] >= floor)
                to[count++] = i;
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            to[count] = i;
            count += from[i] > 0.0;
        }
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(count);
done:
    PyBuffer_Release(&scores);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&peaks);
    return result;
}

typedef struct {
    double score;
    int64_t row;
} Ranked;

/* The better first: a higher score, then a lower row (a total order: no two rows are equal). */
static int better_first(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->row < y->row ? -1 : (x->row > y->row);
}

/* best_first(scores, rows, count, k) -> min(k, count): rows[0..count) (candidate rows, no NaN
   score) sorted best first, by score, ties by lower row: its first k are what _best's
   partition, filter and lexsort pick, in one call. */
static PyObject *best_first(PyObject *self, PyObject *args)
{
    PyObject *scores_object, *rows_object;
    Py_ssize_t count, k;
    if (!PyArg_ParseTuple(args, "OOnn", &scores_object, &rows_object, &count, &k))
        return NULL;
    Py_buffer scores = {0}, rows = {0};
    PyObject *result = NULL;
    Ranked *ranked = NULL;
    if (get_buffer(scores_object, &scores, 0, 8, "scores") < 0 || get_buffer(rows_object, &rows, 1, 8, "rows") < 0)
        goto done;
    Py_ssize_t n = scores.len / 8;
    int64_t *candidates = rows.buf;
    if (count < 0 || count > rows.len / 8 || k < 0) {
        PyErr_SetString(PyExc_ValueError, "count must be within rows, and k not negative");
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++)
        if (candidates[i] < 0 || candidates[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "a candidate row lies outside the scores");
            goto done;
        }
    ranked = PyMem_Malloc(sizeof(Ranked) * (count > 0 ? count : 1));
    if (!ranked) {
        PyErr_NoMemory();
        goto done;
    }
    const double *score = scores.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        ranked[i].score = score[candidates[i]];
        ranked[i].row = candidates[i];
    }
    qsort(ranked, (size_t)count, sizeof(Ranked), better_first);
    for (Py_ssize_t i = 0; i < count; i++)
        candidates[i] = ranked[i].row;
    result = PyLong_FromSsize_t(k < count ? k : count);
done:
    PyMem_Free(ranked);
    PyBuffer_Release(&scores);
    PyBuffer_Release(&rows);
    return result;
}

/* held(indices, columns, rows, out): out[c][i] = whether column c, (start, end) of indices (its
   rows increasing), holds rows[i]: a binary search each, as numpy's searchsorted finds it. */
static PyObject *held(PyObject *self, PyObject *args)
{
    PyObject *indices_object, *column_list, *rows_object, *out_object;
    if (!PyArg_ParseTuple(args, "OO!OO", &indices_object, &PyList_Type, &column_list, &rows_object, &out_object))
        return NULL;
    Py_buffer indices = {0}, rows = {0}, out = {0};
    Py_ssize_t *bounds = NULL;
    PyObject *result = NULL;
    if (get_buffer(indices_object, &indices, 0, 4, "indices") < 0 || get_buffer(rows_object, &rows, 0, 8, "rows") < 0 ||
        get_buffer(out_object, &out, 1, 1, "out") < 0)
        goto done;
    Py_ssize_t count = PyList_GET_SIZE(column_list), wanted = rows.len / 8, postings = indices.len / 4;
    if (out.len != count * wanted) {
        PyErr_SetString(PyExc_ValueError, "out must hold a place per column and row");
        goto done;
    }
    bounds = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (count + 1));
    if (!bounds) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t start, end;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(column_list, c), "nn", &start, &end))
            goto done;
        if (start < 0 || end < start || end > postings) {
            PyErr_SetString(PyExc_ValueError, "a column's postings lie outside the index");
            goto done;
        }
        bounds[2 * c] = start;
        bounds[2 * c + 1] = end;
    }
    Py_BEGIN_ALLOW_THREADS
    const int32_t *column_rows = indices.buf;
    const int64_t *asked = rows.buf;
    char *to = out.buf;
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t start = bounds[2 * c], end = bounds[2 * c + 1];
        for (Py_ssize_t i = 0; i < wanted; i++) {
            Py_ssize_t at = lower_bound(column_rows, start, end, asked[i]);
            to[c * wanted + i] = at < end && column_rows[at] == asked[i];
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyMem_Free(bounds);
    PyBuffer_Release(&indices);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&out);
    return result;
}

/* The windows (a tuple of ints) places maps key to, or NULL (borrowed) with no error when absent. */
static PyObject *windows_of(PyObject *places, PyObject *key, Py_ssize_t count)
{
    PyObject *windows = PyDict_GetItemWithError(places, key);
    if (!windows)
        return NULL;
    if (!PyTuple_Check(windows)) {
        PyErr_SetString(PyExc_TypeError, "a term's windows must be a tuple");
        return NULL;
    }
    for (Py_ssize_t n = 0; n < PyTuple_GET_SIZE(windows); n++) {
        Py_ssize_t w = PyLong_AsSsize_t(PyTuple_GET_ITEM(windows, n));
        if (w == -1 && PyErr_Occurred())
            return NULL;
        if (w < 0 || w >= count) {
            PyErr_SetString(PyExc_ValueError, "a window lies outside the passage's windows");
            return NULL;
        }
    }
    return windows;
}

/* window_shares(out, specs, terms, pairs, pair_share): out (float64 windows x words, zeros,
   C-contiguous) gets, for each word g of specs ((form shares largest first, pair texts, pair
   count) each, as Retriever._share_specs gives), the largest share of a form each window holds
   (terms: form -> the windows holding it) and, where that is below 1.0, pair_share x the share of
   its pairs the window holds when more (pairs: pair -> the windows holding it): the floats
   Retriever._window_coverage's Python loop gives, computed by the same operations. */
static PyObject *window_shares(PyObject *self, PyObject *args)
{
    PyObject *out_object, *specs, *terms, *pairs;
    double pair_share;
    if (!PyArg_ParseTuple(args, "OO!O!O!d", &out_object, &PyList_Type, &specs, &PyDict_Type, &terms, &PyDict_Type,
                          &pairs, &pair_share))
        return NULL;
    Py_buffer out = {0};
    PyObject *result = NULL;
    Py_ssize_t *found = NULL;
    if (get_buffer(out_object, &out, 1, 8, "out") < 0)
        return NULL;
    Py_ssize_t width = PyList_GET_SIZE(specs), cells = out.len / 8;
    Py_ssize_t count = width ? cells / width : 0;
    if (width == 0 || count * width != cells) {
        PyErr_SetString(PyExc_ValueError, "out must hold a place per window and word");
        goto done;
    }
    double *share = out.buf;
    found = PyMem_Calloc(count > 0 ? count : 1, sizeof(Py_ssize_t));
    if (!found) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t g = 0; g < width; g++) {
        PyObject *spec = PyList_GET_ITEM(specs, g), *forms, *texts;
        Py_ssize_t pair_count;
        if (!PyArg_ParseTuple(spec, "O!O!n", &PyTuple_Type, &forms, &PyTuple_Type, &texts, &pair_count))
            goto done;
        for (Py_ssize_t f = 0; f < PyTuple_GET_SIZE(forms); f++) {
            PyObject *token;
            double form_share;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(forms, f), "Od", &token, &form_share))
                goto done;
            PyObject *windows = windows_of(terms, token, count);
            if (!windows) {
                if (PyErr_Occurred())
                    goto done;
                continue;
            }
            for (Py_ssize_t n = 0; n < PyTuple_GET_SIZE(windows); n++) {
                double *at = share + PyLong_AsSsize_t(PyTuple_GET_ITEM(windows, n)) * width + g;
                if (form_share > *at)
                    *at = form_share;
            }
        }
        if (!pair_count)
            continue;
        /* How many of the word's pairs each window holds (a pair listed twice counts twice). */
        for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(texts); t++) {
            PyObject *windows = windows_of(pairs, PyTuple_GET_ITEM(texts, t), count);
            if (!windows) {
                if (PyErr_Occurred())
                    goto done;
                continue;
            }
            for (Py_ssize_t n = 0; n < PyTuple_GET_SIZE(windows); n++)
                found[PyLong_AsSsize_t(PyTuple_GET_ITEM(windows, n))]++;
        }
        for (Py_ssize_t w = 0; w < count; w++) {
            if (!found[w])
                continue;
            double *at = share + w * width + g;
            if (*at < 1.0) {
                double held = pair_share * (double)found[w] / (double)pair_count;
                if (held > *at)
                    *at = held;
            }
            found[w] = 0;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyMem_Free(found);
    PyBuffer_Release(&out);
    return result;
}

/* A list of floats (or of objects with a truth value, as flags) of length width, into out. */
static int read_doubles(PyObject *list, Py_ssize_t width, double *out, int flags)
{
    if (!PyList_Check(list) || PyList_GET_SIZE(list) != width) {
        PyErr_SetString(PyExc_ValueError, "each word's values must be a list of one per word");
        return -1;
    }
    for (Py_ssize_t g = 0; g < width; g++) {
        PyObject *item = PyList_GET_ITEM(list, g);
        if (flags) {
            int truth = PyObject_IsTrue(item);
            if (truth < 0)
                return -1;
            out[g] = truth;
        } else {
            out[g] = PyFloat_AsDouble(item);
            if (out[g] == -1.0 && PyErr_Occurred())
                return -1;
        }
    }
    return 0;
}

/* found_facts(covered, rare, rarity, necessary, specific) -> (missing_rarity, found_rarity,
   found, specific_found): covered is float64 rows x words (C-contiguous); a word is found in a
   row when its share there is at least 0.5. Per row: the largest rare (from 0.0) of the words not
   found, the largest rarity (from 0.0) of those found, how many found are necessary (ints), and
   1.0 when a found one is specific (else 0.0): relevance.feature_lists' Python walk, the same
   comparisons. */
static PyObject *found_facts(PyObject *self, PyObject *args)
{
    PyObject *covered_object, *rare_list, *rarity_list, *necessary_list, *specific_list;
    if (!PyArg_ParseTuple(args, "OOOOO", &covered_object, &rare_list, &rarity_list, &necessary_list, &specific_list))
        return NULL;
    Py_buffer covered = {0};
    PyObject *result = NULL, *lists[4] = {NULL, NULL, NULL, NULL};
    double *values = NULL;
    if (get_buffer(covered_object, &covered, 0, 8, "covered") < 0)
        return NULL;
    Py_ssize_t width = PyList_Check(rare_list) ? PyList_GET_SIZE(rare_list) : -1;
    if (width <= 0 || (covered.len / 8) % width != 0) {
        PyErr_SetString(PyExc_ValueError, "covered must hold a share per row and word");
        goto done;
    }
    Py_ssize_t rows = covered.len / 8 / width;
    values = PyMem_Malloc(sizeof(double) * 4 * width);
    if (!values) {
        PyErr_NoMemory();
        goto done;
    }
    double *rare = values, *rarity = values + width, *necessary = values + 2 * width, *specific = values + 3 * width;
    if (read_doubles(rare_list, width, rare, 0) < 0 || read_doubles(rarity_list, width, rarity, 0) < 0 ||
        read_doubles(necessary_list, width, necessary, 1) < 0 || read_doubles(specific_list, width, specific, 1) < 0)
        goto done;
    for (int n = 0; n < 4; n++)
        if (!(lists[n] = PyList_New(rows)))
            goto done;
    const double *share = covered.buf;
    for (Py_ssize_t r = 0; r < rows; r++) {
        double lacking = 0.0, held_rarest = 0.0;
        Py_ssize_t asked = 0;
        int any_specific = 0;
        for (Py_ssize_t g = 0; g < width; g++) {
            if (share[r * width + g] >= 0.5) {
                if (rarity[g] > held_rarest)
                    held_rarest = rarity[g];
                asked += necessary[g] != 0.0;
                any_specific |= specific[g] != 0.0;
            } else if (rare[g] > lacking) {
                lacking = rare[g];
            }
        }
        PyObject *items[4] = {PyFloat_FromDouble(lacking), PyFloat_FromDouble(held_rarest), PyLong_FromSsize_t(asked),
                              PyFloat_FromDouble(any_specific ? 1.0 : 0.0)};
        for (int n = 0; n < 4; n++) {
            if (!items[n]) {
                for (int m = 0; m < 4; m++)
                    Py_XDECREF(items[m]);
                goto done;
            }
        }
        for (int n = 0; n < 4; n++)
            PyList_SET_ITEM(lists[n], r, items[n]);
    }
    result = PyTuple_Pack(4, lists[0], lists[1], lists[2], lists[3]);
done:
    for (int n = 0; n < 4; n++)
        Py_XDECREF(lists[n]);
    PyMem_Free(values);
    PyBuffer_Release(&covered);
    return result;
}

/* idf_sum(idf, terms) -> the sum of idf[t] (float64[]) over terms (any iterable of ints, each
   within idf), added in the iteration's order: not numpy's pairwise order, so a caller needing
   numpy's float must not take this for it (duplicates.repeats asks only which side of a bound
   the ratio is, and decides near the bound by numpy's sum). */
static PyObject *idf_sum(PyObject *self, PyObject *args)
{
    PyObject *idf_object, *terms;
    if (!PyArg_ParseTuple(args, "OO", &idf_object, &terms))
        return NULL;
    Py_buffer idf = {0};
    if (get_buffer(idf_object, &idf, 0, 8, "idf") < 0)
        return NULL;
    PyObject *iterator = PyObject_GetIter(terms), *item, *result = NULL;
    if (!iterator)
        goto done;
    Py_ssize_t n = idf.len / 8;
    const double *value = idf.buf;
    double total = 0.0;
    while ((item = PyIter_Next(iterator))) {
        Py_ssize_t t = PyLong_AsSsize_t(item);
        Py_DECREF(item);
        if (t == -1 && PyErr_Occurred())
            goto done;
        if (t < 0 || t >= n) {
            PyErr_SetString(PyExc_ValueError, "a term lies outside the idf");
            goto done;
        }
        total += value[t];
    }
    if (!PyErr_Occurred())
        result = PyFloat_FromDouble(total);
done:
    Py_XDECREF(iterator);
    PyBuffer_Release(&idf);
    return result;
}

/* linear_sums(bias, weights, columns) -> [z per row]: for each row r, bias + w[0] x columns[0][r]
   + w[1] x columns[1][r] + ..., added left to right, each product and sum rounded (no fused
   multiply-add): the floats of Relevance.probability's loop over lists. columns: lists of floats,
   one per weight, all as long. */
static PyObject *linear_sums(PyObject *self, PyObject *args)
{
    PyObject *weights, *columns;
    double bias;
    if (!PyArg_ParseTuple(args, "dO!O!", &bias, &PyList_Type, &weights, &PyList_Type, &columns))
        return NULL;
    Py_ssize_t features = PyList_GET_SIZE(weights);
    if (PyList_GET_SIZE(columns) != features) {
        PyErr_SetString(PyExc_ValueError, "one column per weight");
        return NULL;
    }
    Py_ssize_t rows = 0;
    for (Py_ssize_t f = 0; f < features; f++) {
        PyObject *column = PyList_GET_ITEM(columns, f);
        if (!PyList_Check(column) || (f > 0 && PyList_GET_SIZE(column) != rows)) {
            PyErr_SetString(PyExc_ValueError, "the columns must be lists of one length");
            return NULL;
        }
        rows = PyList_GET_SIZE(column);
    }
    double *w = PyMem_Malloc(sizeof(double) * (features > 0 ? features : 1));
    if (!w)
        return PyErr_NoMemory();
    for (Py_ssize_t f = 0; f < features; f++) {
        w[f] = PyFloat_AsDouble(PyList_GET_ITEM(weights, f));
        if (w[f] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(w);
            return NULL;
        }
    }
    PyObject *result = PyList_New(rows);
    if (!result) {
        PyMem_Free(w);
        return NULL;
    }
    for (Py_ssize_t r = 0; r < rows; r++) {
        double total = bias;
        for (Py_ssize_t f = 0; f < features; f++) {
            double value = PyFloat_AsDouble(PyList_GET_ITEM(PyList_GET_ITEM(columns, f), r));
            if (value == -1.0 && PyErr_Occurred()) {
                Py_DECREF(result);
                PyMem_Free(w);
                return NULL;
            }
            total = total + w[f] * value;
        }
        PyObject *item = PyFloat_FromDouble(total);
        if (!item) {
            Py_DECREF(result);
            PyMem_Free(w);
            return NULL;
        }
        PyList_SET_ITEM(result, r, item);
    }
    PyMem_Free(w);
    return result;
}

/* covered_by_sets(out, rows, words, pair_share): out (float64 rows x words, zeros, C-contiguous)
   gets each row's share of each word: words[g] is (form shares, the forms' row sets, pair count,
   the pairs' row sets); the largest share of a form whose set holds the row, and where larger,
   pair_share x (how many of the word's pair sets hold the row / pair count). rows: distinct
   ints. Retriever._covered_by_sets' operations. */
static PyObject *covered_by_sets(PyObject *self, PyObject *args)
{
    PyObject *out_object, *rows, *words;
    double pair_share;
    if (!PyArg_ParseTuple(args, "OO!O!d", &out_object, &PyList_Type, &rows, &PyList_Type, &words, &pair_share))
        return NULL;
    Py_buffer out = {0};
    PyObject *result = NULL;
    if (get_buffer(out_object, &out, 1, 8, "out") < 0)
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(rows), width = PyList_GET_SIZE(words);
    if (out.len / 8 != count * width) {
        PyErr_SetString(PyExc_ValueError, "out must hold a place per row and word");
        goto done;
    }
    double *share = out.buf;
    for (Py_ssize_t g = 0; g < width; g++) {
        PyObject *form_shares, *form_sets, *pair_sets;
        Py_ssize_t pair_count;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(words, g), "O!O!nO!", &PyTuple_Type, &form_shares, &PyList_Type,
                              &form_sets, &pair_count, &PyList_Type, &pair_sets))
            goto done;
        if (PyList_GET_SIZE(form_sets) != PyTuple_GET_SIZE(form_shares)) {
            PyErr_SetString(PyExc_ValueError, "a set per form");
            goto done;
        }
        for (Py_ssize_t f = 0; f < PyList_GET_SIZE(form_sets); f++) {
            PyObject *held = PyList_GET_ITEM(form_sets, f);
            double form_share = PyFloat_AsDouble(PyTuple_GET_ITEM(form_shares, f));
            if (form_share == -1.0 && PyErr_Occurred())
                goto done;
            for (Py_ssize_t n = 0; n < count; n++) {
                int in = PySet_Contains(held, PyList_GET_ITEM(rows, n));
                if (in < 0)
                    goto done;
                double *at = share + n * width + g;
                if (in && form_share > *at)
                    *at = form_share;
            }
        }
        if (PyList_GET_SIZE(pair_sets) == 0)
            continue;
        if (pair_count <= 0) {
            PyErr_SetString(PyExc_ValueError, "a word with pairs counts them");
            goto done;
        }
        for (Py_ssize_t n = 0; n < count; n++) {
            Py_ssize_t found = 0;
            for (Py_ssize_t p = 0; p < PyList_GET_SIZE(pair_sets); p++) {
                int in = PySet_Contains(PyList_GET_ITEM(pair_sets, p), PyList_GET_ITEM(rows, n));
                if (in < 0)
                    goto done;
                found += in;
            }
            if (!found)
                continue;
            double by_pairs = pair_share * ((double)found / (double)pair_count);
            double *at = share + n * width + g;
            if (by_pairs > *at)
                *at = by_pairs;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&out);
    return result;
}

/* text_shares(held, pairs, specs, pair_share) -> [share per word of specs]: a text's share of
   each word given its terms (held) and character pairs (pairs), sets: the first of the word's
   forms (largest share first) it holds gives the share (0.0 without one); below 1.0, pair_share
   x the share of the word's pairs it holds when more. retriever._shares_in's operations. */
static PyObject *text_shares(PyObject *self, PyObject *args)
{
    PyObject *held, *pairs, *specs;
    double pair_share;
    if (!PyArg_ParseTuple(args, "OOO!d", &held, &pairs, &PyList_Type, &specs, &pair_share))
        return NULL;
    if (!PyAnySet_Check(held) || !PyAnySet_Check(pairs)) {
        PyErr_SetString(PyExc_TypeError, "a text's terms and pairs are sets");
        return NULL;
    }
    Py_ssize_t width = PyList_GET_SIZE(specs);
    PyObject *result = PyList_New(width);
    if (!result)
        return NULL;
    for (Py_ssize_t g = 0; g < width; g++) {
        PyObject *forms, *texts;
        Py_ssize_t pair_count;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(specs, g), "O!O!n", &PyTuple_Type, &forms, &PyTuple_Type, &texts,
                              &pair_count))
            goto fail;
        double share = 0.0;
        for (Py_ssize_t f = 0; f < PyTuple_GET_SIZE(forms); f++) {
            PyObject *token;
            double form_share;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(forms, f), "Od", &token, &form_share))
                goto fail;
            int in = PySet_Contains(held, token);
            if (in < 0)
                goto fail;
            if (in) {
                share = form_share;
                break;
            }
        }
        if (share < 1.0 && pair_count) {
            Py_ssize_t found = 0;
            for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(texts); t++) {
                int in = PySet_Contains(pairs, PyTuple_GET_ITEM(texts, t));
                if (in < 0)
                    goto fail;
                found += in;
            }
            double by_pairs = pair_share * (double)found / (double)pair_count;
            if (by_pairs > share)
                share = by_pairs;
        }
        PyObject *item = PyFloat_FromDouble(share);
        if (!item)
            goto fail;
        PyList_SET_ITEM(result, g, item);
    }
    return result;
fail:
    Py_DECREF(result);
    return NULL;
}

/* A fragment's count in jieba's prefix dictionary (None: no word starts so), through known, the
   counts looked up so far (filled as jieba_tokenize fills it). A new reference, NULL on error. */
static PyObject *fragment_count(PyObject *fragment, PyObject *freq, PyObject *known)
{
    PyObject *count = PyDict_GetItemWithError(known, fragment);
    if (count) {
        Py_INCREF(count);
        return count;
    }
    if (PyErr_Occurred())
        return NULL;
    count = PyDict_GetItemWithError(freq, fragment);
    if (!count && PyErr_Occurred())
        return NULL;
    count = count ? count : Py_None;
    Py_INCREF(count);
    if (PyDict_SetItem(known, fragment, count) < 0) {
        Py_DECREF(count);
        return NULL;
    }
    return count;
}

/* math.log of a count as Python computes it: the int (or float) as a double, then log. */
static int count_log(PyObject *count, double *out)
{
    double x = PyFloat_AsDouble(count);
    if (x == -1.0 && PyErr_Occurred())
        return -1;
    if (!(x > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "math domain error");
        return -1;
    }
    *out = log(x);
    return 0;
}

/* jieba_route(block, freq, known, logtotal) -> ends: for each position k of block (a str), the
   last position of the word the best route takes from k, as bot.text.jieba_tokenize's Python
   loop finds it: from the right, each prefix of block[k:] that the dictionary holds (stopping at
   the first it lacks) scores log(count) - logtotal + the route after it, the last of the best
   kept (>=); a position no word starts at scores log(freq.get(char) or 1) - logtotal + the next.
   The same doubles, operation for operation (-ffp-contract=off). */
static PyObject *jieba_route(PyObject *self, PyObject *args)
{
    PyObject *block, *freq, *known;
    double logtotal;
    if (!PyArg_ParseTuple(args, "UO!O!d", &block, &PyDict_Type, &freq, &PyDict_Type, &known, &logtotal))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(block);
    double *score = PyMem_Malloc(sizeof(double) * (n + 1));
    Py_ssize_t *end = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
    PyObject *result = NULL;
    if (!score || !end) {
        PyErr_NoMemory();
        goto done;
    }
    score[n] = 0.0;
    end[n] = 0;
    for (Py_ssize_t k = n - 1; k >= 0; k--) {
        int found = 0;
        double best = 0.0;
        Py_ssize_t best_end = 0;
        for (Py_ssize_t i = k; i < n; i++) {
            PyObject *fragment = PyUnicode_Substring(block, k, i + 1);
            if (!fragment)
                goto done;
            PyObject *count = fragment_count(fragment, freq, known);
            Py_DECREF(fragment);
            if (!count)
                goto done;
            if (count == Py_None) {
                Py_DECREF(count);
                break;
            }
            int truth = PyObject_IsTrue(count);
            if (truth > 0) {
                double value;
                if (count_log(count, &value) < 0) {
                    Py_DECREF(count);
                    goto done;
                }
                double candidate = value - logtotal + score[i + 1];
                if (!found || candidate >= best) {
                    found = 1;
                    best = candidate;
                    best_end = i;
                }
            }
            Py_DECREF(count);
            if (truth < 0)
                goto done;
        }
        if (!found) {
            PyObject *character = PyUnicode_Substring(block, k, k + 1);
            if (!character)
                goto done;
            PyObject *count = PyDict_GetItemWithError(freq, character);   /* borrowed */
            Py_DECREF(character);
            if (!count && PyErr_Occurred())
                goto done;
            int truth = count ? PyObject_IsTrue(count) : 0;
            if (truth < 0)
                goto done;
            double value = 0.0;   /* log(1) */
            if (truth && count_log(count, &value) < 0)
                goto done;
            best = value - logtotal + score[k + 1];
            best_end = k;
        }
        score[k] = best;
        end[k] = best_end;
    }
    result = PyList_New(n);
    if (!result)
        goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PyLong_FromSsize_t(end[k]);
        if (!item) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, k, item);
    }
done:
    PyMem_Free(score);
    PyMem_Free(end);
    return result;
}

static PyMethodDef methods[] = {
    {"check_columns", check_columns, METH_VARARGS,
     "check_columns(indices, indptr, n) -> whether every column's rows are increasing passages 0..n-1."},
    {"held", held, METH_VARARGS, "held(indices, columns, rows, out): whether each column holds each row."},
    {"block_peaks", block_peaks, METH_VARARGS, "block_peaks(scores, size, peaks): each block's largest score."},
    {"rows_at_least", rows_at_least, METH_VARARGS,
     "rows_at_least(scores, floor, rows, size, peaks) -> count: the rows scoring at least floor (above 0.0 "
     "when floor is 0.0), read only in the blocks whose peak reaches it."},
    {"best_first", best_first, METH_VARARGS,
     "best_first(scores, rows, count, k) -> taken: the first taken of rows[:count] made the best, best first "
     "(ties by lower row)."},
    {"window_shares", window_shares, METH_VARARGS,
     "window_shares(out, specs, terms, pairs, pair_share): each word's share each window holds "
     "(Retriever._window_coverage)."},
    {"found_facts", found_facts, METH_VARARGS,
     "found_facts(covered, rare, rarity, necessary, specific) -> (missing_rarity, found_rarity, found, "
     "specific_found) per row (relevance.feature_lists)."},
    {"idf_sum", idf_sum, METH_VARARGS, "idf_sum(idf, terms) -> the terms' idf added in their order."},
    {"linear_sums", linear_sums, METH_VARARGS,
     "linear_sums(bias, weights, columns) -> [bias + sum of weight x value, per row] (Relevance.probability)."},
    {"covered_by_sets", covered_by_sets, METH_VARARGS,
     "covered_by_sets(out, rows, words, pair_share): each row's share of each word (Retriever._covered_by_sets)."},
    {"text_shares", text_shares, METH_VARARGS,
     "text_shares(held, pairs, specs, pair_share) -> each word's share of a text (retriever._shares_in)."},
    {"jieba_route", jieba_route, METH_VARARGS,
     "jieba_route(block, freq, known, logtotal) -> ends: the best route's word end from each position "
     "(bot.text.jieba_tokenize)."},
    {"score_range", score_range, METH_VARARGS,
     "score_range(out, words, bigrams, bigram_weight, tie_share, lo, hi, boosted, boosts, size, peaks[, checked]) -> "
     "positives: a question's scores "
     "of rows lo..hi-1 added into out (see the source's head)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scatter", "Scorer's formula in compiled loops.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__scatter(void) { return PyModule_Create(&module); }
