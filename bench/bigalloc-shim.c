// Build: gcc -O2 -shared -fPIC -o /tmp/bigalloc.so bench/bigalloc-shim.c -ldl -lpthread
// LD_PRELOAD shim (used by bench/mem-probe.ts DUMP=1): tracks live allocations >= MIN bytes with their call stacks; when the file
// /tmp/bigalloc-dump-<pid> appears, writes /tmp/bigalloc-<pid>.txt: per stack, count, bytes and
// bytes resident (mincore).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define MIN 32768
#define CAP (1u << 20)
#define DEPTH 8
typedef struct { uintptr_t addr; size_t size; void *frames[DEPTH]; } Entry;
static Entry *table;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int busy;
static void *(*real_malloc)(size_t), (*real_free)(void *), *(*real_calloc)(size_t, size_t), *(*real_realloc)(void *, size_t);
static char tmpbuf[65536]; static size_t tmpused;
static void init(void) {
  if (real_malloc) return;
  real_malloc = dlsym(RTLD_NEXT, "malloc"); real_free = dlsym(RTLD_NEXT, "free");
  real_calloc = dlsym(RTLD_NEXT, "calloc"); real_realloc = dlsym(RTLD_NEXT, "realloc");
}
static size_t slot(uintptr_t a) { return (a >> 4) * 2654435761u & (CAP - 1); }
static void track(void *p, size_t size) {
  if (!p || size < MIN || busy) return;
  busy = 1;
  void *fr[DEPTH + 2]; int n = backtrace(fr, DEPTH + 2);
  pthread_mutex_lock(&lock);
  if (!table) table = mmap(0, sizeof(Entry) * CAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t i = slot((uintptr_t)p);
  while (table[i].addr) i = (i + 1) & (CAP - 1);
  table[i].addr = (uintptr_t)p; table[i].size = size;
  for (int k = 0; k < DEPTH; k++) table[i].frames[k] = k + 2 < n ? fr[k + 2] : 0;
  pthread_mutex_unlock(&lock);
  busy = 0;
}
static void untrack(void *p) {
  if (!p || !table) return;
  pthread_mutex_lock(&lock);
  size_t i = slot((uintptr_t)p);
  while (table[i].addr) {
    if (table[i].addr == (uintptr_t)p) {
      // backward-shift deletion
      size_t j = i;
      for (;;) {
        table[j].addr = 0;
        size_t k = j;
        for (;;) {
          k = (k + 1) & (CAP - 1);
          if (!table[k].addr) goto done;
          size_t h = slot(table[k].addr);
          if ((j <= k) ? (j < h && h <= k) : (j < h || h <= k)) continue;
          break;
        }
        table[j] = table[k]; j = k;
      }
    }
    i = (i + 1) & (CAP - 1);
  }
done:
  pthread_mutex_unlock(&lock);
}
void *malloc(size_t n) { if (!real_malloc) { init(); if (!real_malloc) { void *p = tmpbuf + tmpused; tmpused += (n + 15) & ~15; return p; } } void *p = real_malloc(n); track(p, n); return p; }
void *calloc(size_t a, size_t b) { if (!real_calloc) { void *p = malloc(a * b); memset(p, 0, a * b); return p; } void *p = real_calloc(a, b); track(p, a * b); return p; }
void *realloc(void *q, size_t n) { init(); if ((char *)q >= tmpbuf && (char *)q < tmpbuf + sizeof tmpbuf) { void *p = malloc(n); memcpy(p, q, n); return p; } untrack(q); void *p = real_realloc(q, n); track(p, n); return p; }
void free(void *p) { if ((char *)p >= tmpbuf && (char *)p < tmpbuf + sizeof tmpbuf) return; init(); untrack(p); real_free(p); }
static size_t resident(uintptr_t a, size_t size) {
  long pg = 4096; uintptr_t s = a & ~(pg - 1), e = (a + size + pg - 1) & ~(pg - 1);
  size_t np = (e - s) / pg; unsigned char vec[4096]; size_t r = 0;
  for (size_t off = 0; off < np; off += 4096) {
    size_t m = np - off > 4096 ? 4096 : np - off;
    if (mincore((void *)(s + off * pg), m * pg, vec) == 0) for (size_t i = 0; i < m; i++) r += vec[i] & 1;
  }
  return r * pg;
}
typedef struct { void *frames[DEPTH]; size_t count, bytes, res; } Group;
static void dump(void) {
  char path[128]; snprintf(path, sizeof path, "/tmp/bigalloc-%d.txt", getpid());
  busy = 1;
  FILE *f = fopen(path, "w");
  static Group groups[4096]; int ng = 0; size_t total = 0, totres = 0, cnt = 0;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; table && i < CAP; i++) {
    if (!table[i].addr) continue;
    size_t r = resident(table[i].addr, table[i].size);
    int g; for (g = 0; g < ng; g++) if (!memcmp(groups[g].frames, table[i].frames, sizeof groups[g].frames)) break;
    if (g == ng && ng < 4096) { memcpy(groups[ng].frames, table[i].frames, sizeof groups[ng].frames); groups[ng].count = groups[ng].bytes = groups[ng].res = 0; ng++; }
    if (g < ng) { groups[g].count++; groups[g].bytes += table[i].size; groups[g].res += r; }
    total += table[i].size; totres += r; cnt++;
  }
  pthread_mutex_unlock(&lock);
  fprintf(f, "live >= %d bytes: %zu allocations, %zu KiB, %zu KiB resident\n", MIN, cnt, total >> 10, totres >> 10);
  for (int g = 0; g < ng; g++) {
    if (groups[g].count < 20) continue;
    fprintf(f, "\n%zu allocs, %zu KiB, %zu KiB resident (%.1f KiB resident each)\n", groups[g].count, groups[g].bytes >> 10, groups[g].res >> 10, groups[g].res / 1024.0 / groups[g].count);
    for (int k = 0; k < DEPTH && groups[g].frames[k]; k++) { Dl_info d; if (dladdr(groups[g].frames[k], &d) && d.dli_sname) fprintf(f, "   %s+%#lx\n", d.dli_sname, (unsigned long)((char *)groups[g].frames[k] - (char *)d.dli_saddr)); else fprintf(f, "   %p (%s)\n", groups[g].frames[k], d.dli_fname ? d.dli_fname : "?"); }
  }
  fclose(f);
  busy = 0;
}
static void *watcher(void *arg) {
  (void)arg; busy = 1; char path[128]; snprintf(path, sizeof path, "/tmp/bigalloc-dump-%d", getpid());
  for (;;) { sleep(1); if (access(path, F_OK) == 0) { unlink(path); dump(); } }
  return 0;
}
__attribute__((constructor)) static void start(void) { init(); pthread_t t; pthread_create(&t, 0, watcher, 0); pthread_detach(t); }
