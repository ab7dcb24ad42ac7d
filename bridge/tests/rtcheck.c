/*
 * promptdaw bridge test library: counts what must never happen on the audio thread.
 *
 * Preloaded (LD_PRELOAD) into a host process. The plugin calls promptdaw_rtcheck_enter() at
 * the top of run() and promptdaw_rtcheck_leave() at the bottom (weak symbols: in a normal
 * host they are absent and the calls are skipped). Between the two, on that thread only,
 * every allocation, free, lock and blocking call is counted, except inside calls back into
 * the host (promptdaw_rtcheck_pause()/resume() around writing MIDI output). The test reads the counts with
 * promptdaw_rtcheck_counts() through ctypes and asserts they are all zero.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdlib.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    C_RUNS, C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_MEMALIGN, C_NEW, C_DELETE,
    C_MUTEX_LOCK, C_MUTEX_TRYLOCK, C_RWLOCK, C_COND_WAIT, C_SEM_WAIT, C_SLEEP, C_COUNT
};

static const char* const kNames[C_COUNT] = {
    "runs", "malloc", "calloc", "realloc", "free", "memalign", "operator_new", "operator_delete",
    "pthread_mutex_lock", "pthread_mutex_trylock", "pthread_rwlock", "pthread_cond_wait", "sem_wait", "sleep",
};

static atomic_long counts[C_COUNT];
static __thread int active;

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void __libc_free(void*);
extern void* __libc_memalign(size_t, size_t);

static atomic_int traced;

/* With PROMPTDAW_RTCHECK_TRACE=N, the first N offences print a backtrace to stderr. */
static void trace(int which)
{
    static int limit = -1;
    if (limit < 0)
    {
        const char* env = getenv("PROMPTDAW_RTCHECK_TRACE");
        limit = env != NULL ? atoi(env) : 0;
    }
    if (atomic_fetch_add(&traced, 1) >= limit)
        return;
    active = 0; /* backtrace() itself may allocate */
    void* frames[32];
    const int n = backtrace(frames, 32);
    static const char header[] = "promptdaw rtcheck: ";
    write(2, header, sizeof(header) - 1);
    write(2, kNames[which], strlen(kNames[which]));
    write(2, " inside run():\n", 15);
    backtrace_symbols_fd(frames, n, 2);
    active = 1;
}

#define COUNT(which) do { if (active) { atomic_fetch_add(&counts[which], 1); trace(which); } } while (0)

/* ---- the API used by the plugin and the test ---- */

void promptdaw_rtcheck_enter(void) { active = 1; atomic_fetch_add(&counts[C_RUNS], 1); }
void promptdaw_rtcheck_leave(void) { active = 0; }
/* Around calls back into the host (MIDI output): what the host does there is its business. */
void promptdaw_rtcheck_pause(void) { active = 0; }
void promptdaw_rtcheck_resume(void) { active = 1; }
void promptdaw_rtcheck_reset(void) { for (int i = 0; i < C_COUNT; ++i) atomic_store(&counts[i], 0); }
int promptdaw_rtcheck_count_names(void) { return C_COUNT; }
const char* promptdaw_rtcheck_name(int i) { return i >= 0 && i < C_COUNT ? kNames[i] : ""; }
long promptdaw_rtcheck_count(int i) { return i >= 0 && i < C_COUNT ? atomic_load(&counts[i]) : -1; }

/* ---- allocation ---- */

void* malloc(size_t n) { COUNT(C_MALLOC); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { COUNT(C_CALLOC); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { COUNT(C_REALLOC); return __libc_realloc(p, n); }
void free(void* p) { if (p != NULL) COUNT(C_FREE); __libc_free(p); }
void* memalign(size_t a, size_t n) { COUNT(C_MEMALIGN); return __libc_memalign(a, n); }
void* aligned_alloc(size_t a, size_t n) { COUNT(C_MEMALIGN); return __libc_memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n)
{
    COUNT(C_MEMALIGN);
    *out = __libc_memalign(a, n);
    return *out != NULL ? 0 : 12; /* ENOMEM */
}

/* operator new / delete (Itanium C++ ABI names), so they are reported as such */
void* _Znwm(size_t n) { COUNT(C_NEW); return __libc_malloc(n ? n : 1); }
void* _Znam(size_t n) { COUNT(C_NEW); return __libc_malloc(n ? n : 1); }
void* _ZnwmRKSt9nothrow_t(size_t n, const void* t) { (void)t; COUNT(C_NEW); return __libc_malloc(n ? n : 1); }
void* _ZnamRKSt9nothrow_t(size_t n, const void* t) { (void)t; COUNT(C_NEW); return __libc_malloc(n ? n : 1); }
void _ZdlPv(void* p) { if (p) COUNT(C_DELETE); __libc_free(p); }
void _ZdaPv(void* p) { if (p) COUNT(C_DELETE); __libc_free(p); }
void _ZdlPvm(void* p, size_t n) { (void)n; if (p) COUNT(C_DELETE); __libc_free(p); }
void _ZdaPvm(void* p, size_t n) { (void)n; if (p) COUNT(C_DELETE); __libc_free(p); }

/* ---- locks and waits ---- */

static int (*real_mutex_lock)(pthread_mutex_t*);
static int (*real_mutex_trylock)(pthread_mutex_t*);
static int (*real_rwlock_rdlock)(pthread_rwlock_t*);
static int (*real_rwlock_wrlock)(pthread_rwlock_t*);
static int (*real_cond_wait)(pthread_cond_t*, pthread_mutex_t*);
static int (*real_cond_timedwait)(pthread_cond_t*, pthread_mutex_t*, const struct timespec*);
static int (*real_sem_wait)(sem_t*);
static int (*real_nanosleep)(const struct timespec*, struct timespec*);
static int (*real_usleep)(useconds_t);

__attribute__((constructor)) static void resolve(void)
{
    real_mutex_lock = dlsym(RTLD_NEXT, "pthread_mutex_lock");
    real_mutex_trylock = dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    real_rwlock_rdlock = dlsym(RTLD_NEXT, "pthread_rwlock_rdlock");
    real_rwlock_wrlock = dlsym(RTLD_NEXT, "pthread_rwlock_wrlock");
    real_cond_wait = dlvsym(RTLD_NEXT, "pthread_cond_wait", "GLIBC_2.3.2");
    if (real_cond_wait == NULL)
        real_cond_wait = dlsym(RTLD_NEXT, "pthread_cond_wait");
    real_cond_timedwait = dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");
    if (real_cond_timedwait == NULL)
        real_cond_timedwait = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    real_sem_wait = dlsym(RTLD_NEXT, "sem_wait");
    real_nanosleep = dlsym(RTLD_NEXT, "nanosleep");
    real_usleep = dlsym(RTLD_NEXT, "usleep");
}

int pthread_mutex_lock(pthread_mutex_t* m) { COUNT(C_MUTEX_LOCK); return real_mutex_lock(m); }
int pthread_mutex_trylock(pthread_mutex_t* m) { COUNT(C_MUTEX_TRYLOCK); return real_mutex_trylock(m); }
int pthread_rwlock_rdlock(pthread_rwlock_t* l) { COUNT(C_RWLOCK); return real_rwlock_rdlock(l); }
int pthread_rwlock_wrlock(pthread_rwlock_t* l) { COUNT(C_RWLOCK); return real_rwlock_wrlock(l); }
int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) { COUNT(C_COND_WAIT); return real_cond_wait(c, m); }
int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* t)
{
    COUNT(C_COND_WAIT);
    return real_cond_timedwait(c, m, t);
}
int sem_wait(sem_t* s) { COUNT(C_SEM_WAIT); return real_sem_wait(s); }
int nanosleep(const struct timespec* a, struct timespec* b) { COUNT(C_SLEEP); return real_nanosleep(a, b); }
int usleep(useconds_t u) { COUNT(C_SLEEP); return real_usleep(u); }
