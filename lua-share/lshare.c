/*
** Shared code for stock Lua 5.5 (see lshare.h).
**
** One state, the "owner", compiles every shared chunk and is never collected: its
** collector is stopped for good. Each object it makes is turned gray once its chunk is
** compiled, the colour Lua gives its own fixed objects: another state's collector only ever
** marks white objects, so it passes over these and never writes to them. Other states run
** closures of their own over the owner's prototypes.
**
** Short strings are compared by address, so a state must not hold two strings with the same
** contents. The owner's short strings are therefore listed in an index that every state's
** interning consults after its own table (lstring.c calls lshare_findstring): a state that
** has no string of its own with those contents takes the owner's. A state that made its own
** copy before the owner had one keeps it, and a shared function with such a string among its
** constants is not shared with that state (lshare_push returns 0). States made after
** lshare_init take even their reserved words from the owner.
**
** The index only grows; its entries are published with release stores and read with acquire
** loads, without a lock. Compiling takes a lock.
**
** Tables are shared the same way, in "boxes" (at the end of this file).
*/

#define lshare_c
#define LUA_CORE

#include "lprefix.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "ldo.h"
#include "lfunc.h"
#include "lgc.h"
#include "lobject.h"
#include "lstate.h"
#include "lstring.h"
#include "ltable.h"
#include "ltm.h"
#include "lshare.h"


#define INDEX_SIZE 8192  /* buckets of the string index (a power of 2) */

typedef struct Entry {
  TString *ts;
  struct Entry *next;
} Entry;

static pthread_mutex_t compiling = PTHREAD_MUTEX_INITIALIZER;
static lua_State *owner;  /* written under 'compiling' */
static _Atomic(global_State *) owner_g;  /* published once the owner is ready */
static _Atomic(Entry *) index_buckets[INDEX_SIZE];


static void *owner_alloc (void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud; (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}


/* Lists a short string of the owner in the index (under 'compiling'). */
static void publish (TString *ts) {
  _Atomic(Entry *) *bucket = &index_buckets[ts->hash & (INDEX_SIZE - 1)];
  Entry *e = (Entry *)malloc(sizeof(Entry));
  if (e == NULL)
    return;  /* the string stays the owner's only: states make their own */
  e->ts = ts;
  e->next = atomic_load_explicit(bucket, memory_order_relaxed);
  atomic_store_explicit(bucket, e, memory_order_release);
}


/* The owner's short string with these contents and hash in the index, or NULL. */
static TString *find_listed (const char *str, size_t l, unsigned h) {
  Entry *e = atomic_load_explicit(&index_buckets[h & (INDEX_SIZE - 1)], memory_order_acquire);
  for (; e != NULL; e = e->next) {
    TString *ts = e->ts;
    if (ts->hash == h && cast_sizet(ts->shrlen) == l && memcmp(getshrstr(ts), str, l) == 0)
      return ts;
  }
  return NULL;
}


/* Makes one object of the owner shareable: gray and old for good, its hash known. */
static void freeze (GCObject *o) {
  if (o->tt == LUA_VLNGSTR)
    luaS_hashlongstr(gco2ts(o));  /* computed now, so no state writes it later */
  resetbits(o->marked, WHITEBITS | bitmask(BLACKBIT));
  setage(o, G_OLD);
  if (o->tt == LUA_VSHRSTR)
    publish(gco2ts(o));
}


/* Freezes what the owner made since the last call: the white objects (frozen ones are
** gray, and the owner's collector never runs to change a colour), in both its lists (a
** userdata with a __gc, such as io's standard files, is kept in 'finobj'). */
static void freeze_new (void) {
  GCObject *lists[2];
  int i;
  lists[0] = G(owner)->allgc;
  lists[1] = G(owner)->finobj;
  for (i = 0; i < 2; i++) {
    GCObject *o;
    for (o = lists[i]; o != NULL; o = o->next) {
      if (iswhite(o))
        freeze(o);
    }
  }
}


static void make_templates (lua_State *L);

LUA_API int lshare_init (unsigned seed) {
  int ok;
  pthread_mutex_lock(&compiling);
  if (owner == NULL) {
    lua_State *L = lua_newstate(owner_alloc, NULL, seed);
    if (L != NULL) {
      GCObject *o;
      lua_gc(L, LUA_GCSTOP);
      G(L)->gcstopem = 1;  /* not even an emergency collection */
      /* its fixed strings (reserved words, metamethod names) are gray already; other
         states read their reserved-word marks (build.rs keeps them from writing the same
         mark again), except "global", which each lexer marks as not reserved
         (LUA_COMPAT_GLOBAL): each state keeps its own */
      for (o = G(L)->fixedgc; o != NULL; o = o->next) {
        if (o->tt == LUA_VSHRSTR && strcmp(getshrstr(gco2ts(o)), "global") != 0)
          publish(gco2ts(o));
      }
      /* the names of the standard libraries are shared from the start, so states
         opening them make no copies of their own */
      luaL_openlibs(L);
      make_templates(L);
      owner = L;
      freeze_new();
      atomic_store_explicit(&owner_g, G(L), memory_order_release);
    }
  }
  ok = (owner != NULL);
  pthread_mutex_unlock(&compiling);
  return ok;
}


/* A compiled function's handle: its prototypes, and whether one of their string constants
** is missing from the index (see lshare_push). Kept for the life of the process. */
typedef struct SharedFn {
  const Proto *p;
  int unlisted;
} SharedFn;


static int has_unlisted_constant (const Proto *p) {
  int i;
  for (i = 0; i < p->sizek; i++) {
    if (ttisshrstring(&p->k[i])) {
      TString *ts = tsvalue(&p->k[i]);
      if (find_listed(getshrstr(ts), cast_sizet(ts->shrlen), ts->hash) != ts)
        return 1;
    }
  }
  for (i = 0; i < p->sizep; i++) {
    if (has_unlisted_constant(p->p[i]))
      return 1;
  }
  return 0;
}


LUA_API const void *lshare_compile (const char *buf, size_t len, const char *chunkname,
                                    const char *mode, char *err, size_t errsz) {
  SharedFn *fn = NULL;
  pthread_mutex_lock(&compiling);
  if (owner == NULL)
    snprintf(err, errsz, "no shared state (lshare_init)");
  else {
    int top = lua_gettop(owner);
    if (luaL_loadbufferx(owner, buf, len, chunkname, mode) == LUA_OK) {
      fn = (SharedFn *)malloc(sizeof(SharedFn));
      if (fn == NULL)
        snprintf(err, errsz, "not enough memory");
      else {
        fn->p = clLvalue(s2v(owner->top.p - 1))->p;
        /* referenced from the owner's registry: kept for the life of the process */
        luaL_ref(owner, LUA_REGISTRYINDEX);
      }
    }
    else {
      const char *msg = lua_tostring(owner, -1);
      snprintf(err, errsz, "%s", msg ? msg : "error compiling a shared chunk");
    }
    lua_settop(owner, top);
    freeze_new();  /* also what a failed compile left; publishes the constants */
    if (fn != NULL)
      fn->unlisted = has_unlisted_constant(fn->p);
  }
  pthread_mutex_unlock(&compiling);
  return fn;
}


/* Does L hold a short string of its own with the contents of shared string 'ts'? (L hashes
** with the shared state's seed, so the hash is the same.) */
static int has_own_copy (lua_State *L, TString *ts) {
  stringtable *tb = &G(L)->strt;
  size_t l = cast_sizet(ts->shrlen);
  TString *s;
  for (s = tb->hash[lmod(ts->hash, tb->size)]; s != NULL; s = s->u.hnext) {
    if (cast_sizet(s->shrlen) == l && memcmp(getshrstr(s), getshrstr(ts), l) == 0)
      return 1;
  }
  return 0;
}


/* Does L hold a short string of its own whose contents the index also has? Only such a
** string can be a copy of one of a shared function's constants. A state has a few strings
** of its own (made before the owner had them), so this is cheaper than asking can_share
** about every constant of a file. */
static int has_shadowing_strings (lua_State *L) {
  stringtable *tb = &G(L)->strt;
  int i;
  for (i = 0; i < tb->size; i++) {
    TString *ts;
    for (ts = tb->hash[i]; ts != NULL; ts = ts->u.hnext) {
      if (find_listed(getshrstr(ts), cast_sizet(ts->shrlen), ts->hash) != NULL)
        return 1;
    }
  }
  return 0;
}


/* Can L read the owner's objects in place (it is not the owner, and hashes as it does)? */
static int can_borrow (lua_State *L) {
  global_State *og = atomic_load_explicit(&owner_g, memory_order_acquire);
  return og != NULL && og != G(L) && G(L)->seed == og->seed;
}


/* Can L use these prototypes: no string constant of theirs has a copy of L's own? */
static int can_share (lua_State *L, const Proto *p) {
  int i;
  for (i = 0; i < p->sizek; i++) {
    if (ttisshrstring(&p->k[i]) && has_own_copy(L, tsvalue(&p->k[i])))
      return 0;
  }
  for (i = 0; i < p->sizep; i++) {
    if (!can_share(L, p->p[i]))
      return 0;
  }
  return 1;
}


LUA_API int lshare_push (lua_State *L, const void *handle) {
  const SharedFn *fn = (const SharedFn *)handle;
  Proto *p = (Proto *)fn->p;
  LClosure *cl;
  if (!can_borrow(L))
    return 0;
  /* L's own copy of a constant would not be found by the closure's lookups: such a copy
     has a twin in the index, or is a constant the index lacks ("global") */
  if (!lua_checkstack(L, 2) ||
      ((fn->unlisted || has_shadowing_strings(L)) && !can_share(L, p)))
    return 0;
  cl = luaF_newLclosure(L, p->sizeupvalues);
  cl->p = p;  /* gray: no barrier needed, the collector never visits it */
  setclLvalue2s(L, L->top.p, cl);
  L->top.p++;
  luaF_initupvals(L, cl);
  if (cl->nupvalues >= 1) {  /* the first upvalue is _ENV, as after lua_load */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_setupvalue(L, -2, 1);
  }
  return 1;
}


struct TString *lshare_findstring (lua_State *L, const char *str, size_t l, unsigned h) {
  global_State *og = atomic_load_explicit(&owner_g, memory_order_acquire);
  if (og == NULL || og == G(L))
    return NULL;
  return find_listed(str, l, h);
}


/*
** {======================================================
** Boxes (see lshare.h)
**
** A box is a state of its own, with the owner's seed and its collector stopped, holding a
** copy of a table tree. Its short strings are not its own: each is made in (or found in) the
** owner and published, so that a reader's interning of the same contents gives the same
** TString, and a lookup by a reader's key finds the box's. Once copied, every object of the
** box is frozen like the owner's (gray, old: no reader's collector visits it), and each
** table gets the BITFROZEN flag (ltable.h, added by build.rs), which makes every write to it
** an error. What a read would write is settled at freeze time: the length hint (luaH_getn
** writes it only when it changes) and the absent-metamethod bits that fasttm caches. So a
** box is only ever read, from any number of threads, until lshare_box_free.
** =======================================================
*/

#define BOX_MAXDEPTH 200  /* nesting of tables a box takes */

struct lshare_Box {
  lua_State *B;  /* the box's state */
  Table *root;
  TString **strs;  /* its distinct short strings (the owner's), sorted by address */
  size_t nstrs;
  _Atomic size_t bytes;  /* what B holds */
  struct lshare_Box *prev, *next;  /* in 'live' */
};

static pthread_mutex_t boxes_lock = PTHREAD_MUTEX_INITIALIZER;
static lshare_Box *live;  /* under 'boxes_lock' */
static int nlive;


static void *box_alloc (void *ud, void *ptr, size_t osize, size_t nsize) {
  lshare_Box *box = (lshare_Box *)ud;
  void *p;
  if (ptr == NULL)
    osize = 0;  /* a new block: 'osize' is the kind of object */
  if (nsize == 0) {
    free(ptr);
    atomic_fetch_sub_explicit(&box->bytes, osize, memory_order_relaxed);
    return NULL;
  }
  p = realloc(ptr, nsize);
  if (p != NULL) {
    atomic_fetch_add_explicit(&box->bytes, nsize, memory_order_relaxed);
    atomic_fetch_sub_explicit(&box->bytes, osize, memory_order_relaxed);
  }
  return p;
}


/* Source table (by address) -> its copy in the box: open addressing, grows at half full. */
typedef struct PtrMap {
  const void **keys;
  Table **vals;
  size_t size, count;  /* size: a power of 2, or 0 */
} PtrMap;

static size_t ptr_slot (const PtrMap *m, const void *k) {
  size_t h = (size_t)(uintptr_t)k;
  size_t i;
  h ^= h >> 17;
  h *= (size_t)0x9E3779B97F4A7C15ull;
  for (i = (h >> 7) & (m->size - 1); m->keys[i] != NULL && m->keys[i] != k;
       i = (i + 1) & (m->size - 1))
    ;
  return i;
}

static Table *ptr_get (const PtrMap *m, const void *k) {
  size_t i;
  if (m->size == 0)
    return NULL;
  i = ptr_slot(m, k);
  return m->keys[i] == k ? m->vals[i] : NULL;
}

static int ptr_put (PtrMap *m, const void *k, Table *v) {
  size_t i;
  if (2 * (m->count + 1) > m->size) {
    PtrMap n;
    n.size = m->size ? 2 * m->size : 64;
    n.count = 0;
    n.keys = (const void **)calloc(n.size, sizeof(*n.keys));
    n.vals = (Table **)calloc(n.size, sizeof(*n.vals));
    if (n.keys == NULL || n.vals == NULL) {
      free(n.keys); free(n.vals);
      return 0;
    }
    for (i = 0; i < m->size; i++) {
      if (m->keys[i] != NULL) {
        size_t j = ptr_slot(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
        n.count++;
      }
    }
    free(m->keys); free(m->vals);
    *m = n;
  }
  i = ptr_slot(m, k);
  if (m->keys[i] == NULL)
    m->count++;
  m->keys[i] = k;
  m->vals[i] = v;
  return 1;
}


/* One copy into a box, run protected in the box's state (its memory errors end it). */
typedef struct Build {
  lua_State *L;  /* the source */
  lshare_Box *box;
  PtrMap map;
  TString **strs;
  size_t nstrs, capstrs;
  char *err;
  size_t errsz;
  int failed;  /* 'err' says why */
} Build;

typedef struct OwnerString {
  const char *s;
  size_t l;
  TString *ts;
} OwnerString;


static void make_owner_string (lua_State *O, void *ud) {
  OwnerString *os = (OwnerString *)ud;
  os->ts = luaS_newlstr(O, os->s, os->l);
}


/* The owner's short string with these contents (under 'compiling'): made, frozen and
** published if it has none yet. */
static TString *owner_string (Build *b, const char *s, size_t l) {
  OwnerString os;
  os.s = s; os.l = l; os.ts = NULL;
  if (luaD_rawrunprotected(owner, make_owner_string, &os) != LUA_OK)
    luaD_throw(b->box->B, LUA_ERRMEM);
  if (iswhite(os.ts))  /* new: share it as the compiler's strings are shared */
    freeze(obj2gco(os.ts));
  if (b->nstrs == b->capstrs) {
    size_t n = b->capstrs ? 2 * b->capstrs : 256;
    TString **a = (TString **)realloc(b->strs, n * sizeof(*a));
    if (a == NULL)
      luaD_throw(b->box->B, LUA_ERRMEM);
    b->strs = a;
    b->capstrs = n;
  }
  b->strs[b->nstrs++] = os.ts;
  return os.ts;
}


static int build_fail (Build *b, const char *msg, const char *detail) {
  if (!b->failed) {
    snprintf(b->err, b->errsz, "%s%s", msg, detail);
    b->failed = 1;
  }
  return 0;
}


static Table *copy_table (Build *b, int idx, int depth);

/* Copies the value at 'idx' of the source into 'out'; 0 when it cannot be shared. */
static int copy_value (Build *b, int idx, TValue *out, int depth) {
  lua_State *L = b->L;
  lua_State *B = b->box->B;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: setnilvalue(out); return 1;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) {
        setbtvalue(out);
      }
      else {
        setbfvalue(out);
      }
      return 1;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        setivalue(out, lua_tointeger(L, idx));
      }
      else {
        setfltvalue(out, lua_tonumber(L, idx));
      }
      return 1;
    case LUA_TSTRING: {
      size_t l;
      const char *s = lua_tolstring(L, idx, &l);
      TString *ts = (l <= LUAI_MAXSHORTLEN) ? owner_string(b, s, l) : luaS_newlstr(B, s, l);
      setsvalue(B, out, ts);
      return 1;
    }
    case LUA_TTABLE: {
      Table *t = copy_table(b, idx, depth + 1);
      if (t == NULL)
        return 0;
      sethvalue(B, out, t);
      return 1;
    }
    default:
      return build_fail(b, "cannot share a value of type ", lua_typename(L, lua_type(L, idx)));
  }
}


/* The box's copy of the source table at 'idx' (absolute), made once per source table. */
static Table *copy_table (Build *b, int idx, int depth) {
  lua_State *L = b->L;
  lua_State *B = b->box->B;
  const void *key = lua_topointer(L, idx);
  Table *t = ptr_get(&b->map, key);
  lua_Unsigned n, inrange = 0, total = 0;
  if (t != NULL)
    return t;
  if (depth > BOX_MAXDEPTH || !lua_checkstack(L, 4)) {
    build_fail(b, "tables nested too deep", "");
    return NULL;
  }
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    build_fail(b, "cannot share a table with a metatable", "");
    return NULL;
  }
  t = luaH_new(B);
  if (!ptr_put(&b->map, key, t))
    luaD_throw(B, LUA_ERRMEM);
  /* size the copy as the source is: an array part when 1..#t has no hole */
  n = lua_rawlen(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_Integer k;
    int isint;
    total++;
    isint = 0;
    k = (lua_type(L, -2) == LUA_TNUMBER) ? lua_tointegerx(L, -2, &isint) : 0;
    if (isint && k >= 1 && (lua_Unsigned)k <= n)
      inrange++;
    lua_pop(L, 1);
  }
  if (n > 0 && inrange == n && n <= UINT_MAX / 2)
    luaH_resize(B, t, (unsigned)n, (unsigned)(total - n));
  else if (total > 0 && total <= UINT_MAX / 2)
    luaH_resize(B, t, 0, (unsigned)total);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int top = lua_gettop(L);
    TValue k, v;
    if (!copy_value(b, top - 1, &k, depth) || !copy_value(b, top, &v, depth))
      return NULL;
    luaH_set(B, t, &k, &v);
    lua_pop(L, 1);
  }
  return t;
}


typedef struct BuildCall {
  Build *b;
  int idx;
} BuildCall;

static void build_root (lua_State *B, void *ud) {
  BuildCall *c = (BuildCall *)ud;
  (void)B;
  c->b->box->root = copy_table(c->b, c->idx, 0);
}


/* Makes a box table shareable: what a read would write is written now, and writes are
** refused from now on. */
static void freeze_table (lua_State *B, Table *t) {
  int e;
  if (t->asize > 0)
    luaH_getn(B, t);  /* settles the length hint */
  for (e = 0; e <= TM_EQ; e++) {  /* the absent-metamethod bits fasttm would cache */
    if (notm(luaH_Hgetshortstr(t, G(B)->tmname[e])))
      t->flags |= cast_byte(1u << e);
    else
      t->flags &= cast_byte(~(1u << e));
  }
  t->flags |= BITFROZEN;
}


static int cmp_ptr (const void *a, const void *b) {
  uintptr_t x = (uintptr_t)*(TString *const *)a, y = (uintptr_t)*(TString *const *)b;
  return (x > y) - (x < y);
}


static void box_close (lshare_Box *box) {
  if (box->B != NULL)
    lua_close(box->B);
  free(box->strs);
  free(box);
}


LUA_API lshare_Box *lshare_box_new (lua_State *L, int idx, char *err, size_t errsz) {
  Build b;
  BuildCall call;
  lshare_Box *box;
  GCObject *mark, *o;
  int top = lua_gettop(L);
  TStatus st;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    snprintf(err, errsz, "a table expected, got %s", luaL_typename(L, idx));
    return NULL;
  }
  box = (lshare_Box *)calloc(1, sizeof(*box));
  if (box == NULL) {
    snprintf(err, errsz, "not enough memory");
    return NULL;
  }
  memset(&b, 0, sizeof(b));
  b.L = L; b.box = box; b.err = err; b.errsz = errsz;
  pthread_mutex_lock(&compiling);
  if (owner == NULL) {
    pthread_mutex_unlock(&compiling);
    free(box);
    snprintf(err, errsz, "no shared state (lshare_init)");
    return NULL;
  }
  box->B = lua_newstate(box_alloc, box, G(owner)->seed);
  if (box->B == NULL) {
    pthread_mutex_unlock(&compiling);
    free(box);
    snprintf(err, errsz, "not enough memory");
    return NULL;
  }
  lua_gc(box->B, LUA_GCSTOP);
  G(box->B)->gcstopem = 1;
  mark = G(box->B)->allgc;  /* what the copy makes comes before it */
  call.b = &b; call.idx = idx;
  st = luaD_rawrunprotected(box->B, build_root, &call);
  lua_settop(L, top);
  if (st != LUA_OK || box->root == NULL) {
    pthread_mutex_unlock(&compiling);
    if (st != LUA_OK)
      snprintf(err, errsz, "not enough memory");
    else if (!b.failed)
      snprintf(err, errsz, "cannot copy the table");
    free(b.map.keys); free(b.map.vals); free(b.strs);
    box_close(box);
    return NULL;
  }
  for (o = G(box->B)->allgc; o != mark; o = o->next) {
    /* tables and long strings: its short strings are the owner's */
    if (o->tt == LUA_VTABLE)
      freeze_table(box->B, gco2t(o));
    if (o->tt == LUA_VTABLE || o->tt == LUA_VLNGSTR)
      freeze(o);  /* long strings get their hash here */
  }
  pthread_mutex_unlock(&compiling);
  free(b.map.keys); free(b.map.vals);
  if (b.nstrs > 0) {  /* keep each string once */
    size_t i, n = 1;
    qsort(b.strs, b.nstrs, sizeof(*b.strs), cmp_ptr);
    for (i = 1; i < b.nstrs; i++) {
      if (b.strs[i] != b.strs[n - 1])
        b.strs[n++] = b.strs[i];
    }
    box->strs = (TString **)realloc(b.strs, n * sizeof(*b.strs));
    if (box->strs == NULL)
      box->strs = b.strs;
    box->nstrs = n;
  }
  pthread_mutex_lock(&boxes_lock);
  box->next = live;
  if (live != NULL)
    live->prev = box;
  live = box;
  nlive++;
  pthread_mutex_unlock(&boxes_lock);
  return box;
}


static int box_live (lshare_Box *box) {
  lshare_Box *b;
  pthread_mutex_lock(&boxes_lock);
  for (b = live; b != NULL && b != box; b = b->next)
    ;
  pthread_mutex_unlock(&boxes_lock);
  return b != NULL;
}


static void push_root (lua_State *L, lshare_Box *box) {
  sethvalue2s(L, L->top.p, box->root);  /* gray: no barrier, no reader's collector visits it */
  L->top.p++;
}


LUA_API int lshare_box_push (lua_State *L, lshare_Box *box) {
  size_t i;
  if (box == NULL || !box_live(box) || G(L) == G(box->B) || G(L)->seed != G(box->B)->seed)
    return 0;
  for (i = 0; i < box->nstrs; i++) {
    if (has_own_copy(L, box->strs[i]))
      return 0;
  }
  if (!lua_checkstack(L, 1))
    return 0;
  push_root(L, box);
  return 1;
}


/* Pushes a private copy of the box table at 'src' (absolute); 'seen' maps box tables to
** their copies. Reads the box table with lua_next only: its keys are the box's own. */
static void copy_out (lua_State *L, int src, int seen, int depth) {
  int copy;
  lua_pushvalue(L, src);
  if (lua_rawget(L, seen) != LUA_TNIL)
    return;
  lua_pop(L, 1);
  if (depth > BOX_MAXDEPTH)
    luaL_error(L, "tables nested too deep");
  luaL_checkstack(L, 8, "tables nested too deep");
  lua_createtable(L, (int)(gco2t((GCObject *)lua_topointer(L, src))->asize), 0);
  copy = lua_gettop(L);
  lua_pushvalue(L, src);
  lua_pushvalue(L, copy);
  lua_rawset(L, seen);
  lua_pushnil(L);
  while (lua_next(L, src)) {
    int k = lua_gettop(L) - 1;
    int i;
    for (i = k; i <= k + 1; i++) {
      if (lua_type(L, i) == LUA_TTABLE)
        copy_out(L, i, seen, depth + 1);
      else if (lua_type(L, i) == LUA_TSTRING) {
        size_t l;
        const char *s = lua_tolstring(L, i, &l);
        lua_pushlstring(L, s, l);  /* interned in L: L's lookups find it */
      }
      else
        lua_pushvalue(L, i);
    }
    lua_rawset(L, copy);
    lua_pop(L, 1);
  }
}


LUA_API int lshare_box_pushcopy (lua_State *L, lshare_Box *box) {
  int seen;
  if (box == NULL || !box_live(box))
    return 0;
  luaL_checkstack(L, 4, NULL);
  lua_newtable(L);
  seen = lua_gettop(L);
  push_root(L, box);
  copy_out(L, seen + 1, seen, 0);
  lua_replace(L, seen);
  lua_settop(L, seen);
  return 1;
}


LUA_API int lshare_box_free (lshare_Box *box) {
  lshare_Box *b;
  pthread_mutex_lock(&boxes_lock);
  for (b = live; b != NULL && b != box; b = b->next)
    ;
  if (b != NULL) {
    if (b->prev != NULL) b->prev->next = b->next;
    else live = b->next;
    if (b->next != NULL) b->next->prev = b->prev;
    nlive--;
  }
  pthread_mutex_unlock(&boxes_lock);
  if (b == NULL)
    return 0;
  box_close(b);
  return 1;
}


LUA_API int lshare_box_count (void) {
  int n;
  pthread_mutex_lock(&boxes_lock);
  n = nlive;
  pthread_mutex_unlock(&boxes_lock);
  return n;
}


LUA_API size_t lshare_box_size (lshare_Box *box) {
  if (box == NULL || !box_live(box))
    return 0;
  return atomic_load_explicit(&box->bytes, memory_order_relaxed);
}


LUA_API int lshare_isboxed (lua_State *L, int idx) {
  const Table *t;
  if (lua_type(L, idx) != LUA_TTABLE)
    return 0;
  t = gco2t((GCObject *)lua_topointer(L, idx));
  return isfrozen(t) && !luaH_islent(t);
}

/* }====================================================== */


/*
** {======================================================
** Moving a state's references from some tables to others (lshare_replace), as a version of
** a box replaces an older one. A linear pass over the state's object lists, with no
** allocation in L while it runs (no collector step can change the lists under it); keys
** that must change are only noted, and moved afterwards through the API.
** =======================================================
*/

typedef struct Swap {
  lua_State *L;
  PtrMap map;  /* old table -> new table */
  PtrMap skip;  /* tables not to look into (value: any non-NULL) */
  Table **rekeys;  /* pairs (table, old key) */
  size_t nrekeys, caprekeys;
  int swapped;
  int nomem;
} Swap;


static Table *swap_target (Swap *s, const TValue *v) {
  return ttistable(v) ? ptr_get(&s->map, hvalue(v)) : NULL;
}


/* Swaps the table in 'v' if it is an old one; 1 if it did. */
static int swap_value (Swap *s, TValue *v) {
  Table *n = swap_target(s, v);
  if (n == NULL)
    return 0;
  sethvalue(s->L, v, n);
  s->swapped++;
  return 1;
}


static void swap_metatable (Swap *s, GCObject *o, Table **mt) {
  Table *n = (*mt != NULL) ? ptr_get(&s->map, *mt) : NULL;
  if (n != NULL) {
    *mt = n;
    luaC_objbarrier(s->L, o, n);
    s->swapped++;
  }
}


static void note_rekey (Swap *s, Table *t, Table *key) {
  if (s->nrekeys + 2 > s->caprekeys) {
    size_t n = s->caprekeys ? 2 * s->caprekeys : 64;
    Table **a = (Table **)realloc(s->rekeys, n * sizeof(*a));
    if (a == NULL) {
      s->nomem = 1;
      return;
    }
    s->rekeys = a;
    s->caprekeys = n;
  }
  s->rekeys[s->nrekeys++] = t;
  s->rekeys[s->nrekeys++] = key;
}


static void swap_table (Swap *s, Table *t) {
  unsigned i;
  if (isfrozen(t) || ptr_get(&s->skip, t) != NULL || ptr_get(&s->map, t) != NULL)
    return;
  swap_metatable(s, obj2gco(t), &t->metatable);
  for (i = 0; i < t->asize; i++) {
    if (*getArrTag(t, i) == ctb(LUA_VTABLE)) {
      Value *v = getArrVal(t, i);
      Table *n = ptr_get(&s->map, gco2t(v->gc));
      if (n != NULL) {
        v->gc = obj2gco(n);
        luaC_objbarrierback(s->L, obj2gco(t), n);
        s->swapped++;
      }
    }
  }
  if (!isdummy(t)) {
    size_t j, size = sizenode(t);
    for (j = 0; j < size; j++) {
      Node *n = gnode(t, j);
      if (isempty(gval(n)))
        continue;
      if (swap_value(s, gval(n)))
        luaC_barrierback(s->L, obj2gco(t), gval(n));
      if (keytt(n) == ctb(LUA_VTABLE) && ptr_get(&s->map, gco2t(gckey(n))) != NULL)
        note_rekey(s, t, gco2t(gckey(n)));
    }
  }
}


static void swap_thread (Swap *s, lua_State *th) {
  StkId o;
  for (o = th->stack.p; o < th->top.p; o++)
    swap_value(s, s2v(o));  /* stacks are traversed at the atomic step: no barrier */
}


static void swap_object (Swap *s, GCObject *o) {
  switch (o->tt) {
    case LUA_VTABLE:
      swap_table(s, gco2t(o));
      break;
    case LUA_VUPVAL: {
      UpVal *uv = gco2upv(o);
      if (!upisopen(uv) && swap_value(s, uv->v.p))  /* open ones: in a stack */
        luaC_barrier(s->L, uv, uv->v.p);
      break;
    }
    case LUA_VCCL: {
      CClosure *cl = gco2ccl(o);
      int i;
      for (i = 0; i < cl->nupvalues; i++) {
        if (swap_value(s, &cl->upvalue[i]))
          luaC_barrier(s->L, cl, &cl->upvalue[i]);
      }
      break;
    }
    case LUA_VUSERDATA: {
      Udata *u = gco2u(o);
      int i;
      swap_metatable(s, o, &u->metatable);
      for (i = 0; i < u->nuvalue; i++) {
        if (swap_value(s, &u->uv[i].uv))
          luaC_barrierback(s->L, o, &u->uv[i].uv);
      }
      break;
    }
    case LUA_VTHREAD:
      swap_thread(s, gco2th(o));
      break;
    default:  /* strings, prototypes, Lua closures (their upvalues are UpVals) */
      break;
  }
}


/* Reads the keys (and for 'map', the values) of the table at 'idx' into 'm'. */
static int read_map (lua_State *L, int idx, PtrMap *m, int values) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TTABLE && (!values || lua_type(L, -1) == LUA_TTABLE)) {
      Table *v = values ? (Table *)lua_topointer(L, -1) : (Table *)lua_topointer(L, -2);
      if (!ptr_put(m, lua_topointer(L, -2), v)) {
        lua_pop(L, 2);
        return 0;
      }
    }
    lua_pop(L, 1);
  }
  return 1;
}


LUA_API int lshare_replace (lua_State *L, int map, int skip) {
  Swap s;
  global_State *g = G(L);
  GCObject *const *lists[3];
  size_t i;
  int l;
  memset(&s, 0, sizeof(s));
  s.L = L;
  map = lua_absindex(L, map);
  skip = lua_absindex(L, skip);
  luaL_checkstack(L, 4, NULL);
  if (!read_map(L, map, &s.map, 1) || !read_map(L, skip, &s.skip, 0) ||
      !ptr_put(&s.skip, lua_topointer(L, map), (Table *)lua_topointer(L, map)) ||
      !ptr_put(&s.skip, lua_topointer(L, skip), (Table *)lua_topointer(L, skip))) {
    free(s.map.keys); free(s.map.vals); free(s.skip.keys); free(s.skip.vals);
    luaL_error(L, "not enough memory");
  }
  if (s.map.count > 0) {
    GCObject *o;
    lists[0] = &g->allgc; lists[1] = &g->finobj; lists[2] = &g->tobefnz;
    for (l = 0; l < 3; l++) {
      for (o = *lists[l]; o != NULL; o = o->next)
        swap_object(&s, o);
    }
    swap_thread(&s, mainthread(g));
    for (l = 0; l < LUA_NUMTYPES; l++) {
      Table *n = (g->mt[l] != NULL) ? ptr_get(&s.map, g->mt[l]) : NULL;
      if (n != NULL) {
        g->mt[l] = n;  /* marked at the atomic step: no barrier */
        s.swapped++;
      }
    }
  }
  free(s.map.keys); free(s.map.vals); free(s.skip.keys); free(s.skip.vals);
  if (s.nomem) {
    free(s.rekeys);
    luaL_error(L, "not enough memory");
  }
  /* keys: the noted pairs go to L's stack (so nothing leaks if L runs out of memory),
     then each value moves from the old key to the new one */
  if (s.nrekeys > 0 && !lua_checkstack(L, (int)s.nrekeys + 4)) {
    free(s.rekeys);
    luaL_error(L, "too many keys to move");
  }
  for (i = 0; i < s.nrekeys; i++) {
    sethvalue2s(L, L->top.p, s.rekeys[i]);
    L->top.p++;
  }
  free(s.rekeys);
  for (i = 0; i < s.nrekeys; i += 2) {
    int t = lua_gettop(L) - 1;  /* the last pair on the stack */
    lua_pushvalue(L, t + 1);
    lua_rawget(L, t);  /* value */
    lua_pushvalue(L, t + 1);
    lua_rawget(L, map);  /* new key */
    lua_pushvalue(L, -2);
    lua_rawset(L, t);  /* t[new] = value */
    lua_pop(L, 1);
    lua_pushvalue(L, t + 1);
    lua_pushnil(L);
    lua_rawset(L, t);  /* t[old] = nil */
    lua_pop(L, 2);
    s.swapped++;
  }
  return s.swapped;
}

/* }====================================================== */


/*
** {======================================================
** Lent tables (see lshare.h)
**
** lshare_init opens the standard libraries in the owner; the tables of those named in
** 'lendable' become templates, frozen like box tables. A state opening one of them gets a
** header of its own pointing at the template's node vector (luaH_lend, in ltable.c), which
** it reads in place and copies at its first write (luaH_thaw). A template holds only what
** any state may read: its keys are the owner's short strings (published, so lookups by a
** state's key agree), its values light C functions, numbers, booleans and short strings.
** math.random keeps its generator in each state's registry (build.rs), so math qualifies;
** io's table holds the owner's standard files, which a state borrowing io also takes as
** its default input and output, with their frozen metatable as its "FILE*".
** =======================================================
*/

static const char *const lendable[] = {"string", "table", "math", "os", "debug", "utf8",
                                       "coroutine", "io"};
#define NLENDABLE (sizeof(lendable) / sizeof(lendable[0]))

static Table *templates[NLENDABLE];  /* written before 'owner_g' is published */

/* Fields the host gives templates (lshare_preset), under 'compiling'. */
#define MAXPRESETS 8

static struct Preset {
  const char *lib, *name;
  lua_CFunction f;
} presets[MAXPRESETS];
static int npresets;


/* The place of library 'lib' in 'lendable', or -1. */
static int lendable_index (const char *lib) {
  size_t i;
  for (i = 0; i < NLENDABLE; i++) {
    if (strcmp(lendable[i], lib) == 0)
      return (int)i;
  }
  return -1;
}


LUA_API int lshare_preset (const char *lib, const char *name, lua_CFunction f) {
  int ok;
  pthread_mutex_lock(&compiling);
  ok = (owner == NULL && npresets < MAXPRESETS && lendable_index(lib) >= 0 && f != NULL);
  if (ok) {
    presets[npresets].lib = lib;
    presets[npresets].name = name;
    presets[npresets].f = f;
    npresets++;
  }
  pthread_mutex_unlock(&compiling);
  return ok;
}


static void apply_presets (lua_State *L, int loaded) {
  int i;
  for (i = 0; i < npresets; i++) {
    if (lua_getfield(L, loaded, presets[i].lib) == LUA_TTABLE) {
      lua_pushcfunction(L, presets[i].f);
      lua_setfield(L, -2, presets[i].name);
    }
    lua_pop(L, 1);
  }
}


/* Values any state may read: besides the plain ones, io's standard files, whose metatable
** is frozen (make_templates) and which io never writes to (build.rs). */
static int lendable_value (const TValue *v) {
  if (ttisfulluserdata(v)) {
    const Udata *u = uvalue(v);
    return u->nuvalue == 0 && u->metatable != NULL && isfrozen(u->metatable);
  }
  return ttislcf(v) || ttisnumber(v) || ttisboolean(v) || ttisshrstring(v);
}


/* Can every state read 't' in place? */
static int can_lend (const Table *t) {
  unsigned i, size;
  if (t->asize != 0 || t->metatable != NULL || isdummy(t))
    return 0;
  size = sizenode(t);
  for (i = 0; i < size; i++) {
    const Node *n = gnode(t, i);
    if (isempty(gval(n)))
      continue;
    if (keytt(n) != ctb(LUA_VSHRSTR) || !lendable_value(gval(n)))
      return 0;
  }
  return 1;
}


/* In the owner, with its libraries open: the tables of 'lendable' that qualify become
** templates (a library that does not stays each state's own). */
static void make_templates (lua_State *L) {
  size_t i;
  /* the metatable of io's files and its methods: read, never written, by every state */
  if (luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE) {
    if (lua_getfield(L, -1, "__index") == LUA_TTABLE)
      freeze_table(L, hvalue(s2v(L->top.p - 1)));
    lua_pop(L, 1);
    freeze_table(L, hvalue(s2v(L->top.p - 1)));
  }
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  apply_presets(L, lua_gettop(L));
  for (i = 0; i < NLENDABLE; i++) {
    if (lua_getfield(L, -1, lendable[i]) == LUA_TTABLE) {
      Table *t = hvalue(s2v(L->top.p - 1));
      if (can_lend(t)) {
        freeze_table(L, t);
        templates[i] = t;
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}


/* Does L hold its own copy of a string of template 't'? (It could not find the keys.) */
static int has_own_strings (lua_State *L, const Table *t) {
  unsigned i, size = sizenode(t);
  for (i = 0; i < size; i++) {
    const Node *n = gnode(t, i);
    if (isempty(gval(n)))
      continue;
    if (has_own_copy(L, keystrval(n)))
      return 1;
    if (ttisshrstring(gval(n)) && has_own_copy(L, tsvalue(gval(n))))
      return 1;
  }
  return 0;
}


/* Pushes a table lent 'tmpl', 1; 0 when L has its own copy of one of its strings. */
static int push_lent (lua_State *L, const Table *tmpl) {
  Table *t;
  if (has_own_strings(L, tmpl) || !lua_checkstack(L, 1))
    return 0;
  t = luaH_new(L);
  sethvalue2s(L, L->top.p, t);
  L->top.p++;
  luaH_lend(t, tmpl);
  return 1;
}


LUA_API int lshare_lend (lua_State *L, const char *name) {
  int i = lendable_index(name);
  return i >= 0 && templates[i] != NULL && can_borrow(L) && push_lent(L, templates[i]);
}


/* The template of a C module (lshare_newlib): its table in the owner, and a copy of what
** 'l' held when it was made, which tells a library reloaded at the same address from the
** same one. */
typedef struct Module {
  const luaL_Reg *l;
  size_t n;
  lua_CFunction *funcs;
  char **names;
  Table *t;
  struct Module *next;
} Module;

static _Atomic(Module *) modules;  /* pushed under 'compiling', read without a lock */


static size_t count_funcs (const luaL_Reg *l) {
  size_t n = 0;
  while (l[n].name != NULL)
    n++;
  return n;
}


static int same_funcs (const Module *m, const luaL_Reg *l) {
  size_t i;
  if (m->l != l)
    return 0;
  for (i = 0; i < m->n; i++) {
    if (l[i].name == NULL || l[i].func != m->funcs[i] || strcmp(l[i].name, m->names[i]) != 0)
      return 0;
  }
  return l[m->n].name == NULL;
}


static Module *find_module (Module *m, const luaL_Reg *l) {
  while (m != NULL && !same_funcs(m, l))
    m = m->next;
  return m;
}


static void free_module (Module *m, size_t named) {
  size_t i;
  for (i = 0; i < named; i++)
    free(m->names[i]);
  free(m->names);
  free(m->funcs);
  free(m);
}


/* A record of 'l' with its template 't' (NULL: 'l' can't be lent), or NULL without memory. */
static Module *new_module (const luaL_Reg *l, Table *t) {
  size_t i, n = count_funcs(l);
  Module *m = (Module *)calloc(1, sizeof(Module));
  if (m == NULL)
    return NULL;
  m->l = l;
  m->n = n;
  m->t = t;
  m->funcs = (lua_CFunction *)calloc(n + 1, sizeof(lua_CFunction));
  m->names = (char **)calloc(n + 1, sizeof(char *));
  if (m->funcs == NULL || m->names == NULL) {
    free_module(m, 0);
    return NULL;
  }
  for (i = 0; i < n; i++) {
    size_t len = strlen(l[i].name) + 1;
    m->funcs[i] = l[i].func;
    m->names[i] = (char *)malloc(len);
    if (m->names[i] == NULL) {
      free_module(m, i);
      return NULL;
    }
    memcpy(m->names[i], l[i].name, len);
  }
  return m;
}


typedef struct NewModule {
  const luaL_Reg *l;
  Table *t;
} NewModule;

static void build_module (lua_State *O, void *ud) {
  NewModule *nm = (NewModule *)ud;
  lua_createtable(O, 0, (int)count_funcs(nm->l));
  luaL_setfuncs(O, nm->l, 0);
  nm->t = hvalue(s2v(O->top.p - 1));
  luaL_ref(O, LUA_REGISTRYINDEX);  /* kept for the life of the process */
}


/* The owner's template for 'l', made now if there is none; NULL when 'l' can't be lent. */
static const Table *module_template (const luaL_Reg *l) {
  Module *m = find_module(atomic_load_explicit(&modules, memory_order_acquire), l);
  if (m != NULL)
    return m->t;
  pthread_mutex_lock(&compiling);
  m = find_module(atomic_load_explicit(&modules, memory_order_relaxed), l);
  if (m == NULL) {
    NewModule nm;
    int top = lua_gettop(owner);
    nm.l = l;
    nm.t = NULL;
    if (luaD_rawrunprotected(owner, build_module, &nm) != LUA_OK)
      nm.t = NULL;  /* out of memory: try again next time */
    lua_settop(owner, top);
    if (nm.t != NULL) {
      /* a record either way, so that 'l' is built in the owner once */
      if (can_lend(nm.t))
        freeze_table(owner, nm.t);
      else
        nm.t = NULL;
      freeze_new();  /* gray before any state can find it */
      m = new_module(l, nm.t);
      if (m != NULL) {
        m->next = atomic_load_explicit(&modules, memory_order_relaxed);
        atomic_store_explicit(&modules, m, memory_order_release);
      }
    }
  }
  pthread_mutex_unlock(&compiling);
  return m != NULL ? m->t : NULL;
}


LUA_API void lshare_newlib (lua_State *L, const luaL_Reg *l) {
  const Table *tmpl = can_borrow(L) ? module_template(l) : NULL;
  if (tmpl == NULL || !push_lent(L, tmpl)) {
    lua_createtable(L, 0, (int)count_funcs(l));
    luaL_setfuncs(L, l, 0);
  }
}

/* }====================================================== */
