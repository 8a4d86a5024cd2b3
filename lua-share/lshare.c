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
*/

#define lshare_c
#define LUA_CORE

#include "lprefix.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lfunc.h"
#include "lgc.h"
#include "lobject.h"
#include "lstate.h"
#include "lstring.h"
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
** gray, and the owner's collector never runs to change a colour). */
static void freeze_new (void) {
  GCObject *o;
  for (o = G(owner)->allgc; o != NULL; o = o->next) {
    if (iswhite(o))
      freeze(o);
  }
}


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
      owner = L;
      freeze_new();
      atomic_store_explicit(&owner_g, G(L), memory_order_release);
    }
  }
  ok = (owner != NULL);
  pthread_mutex_unlock(&compiling);
  return ok;
}


LUA_API const void *lshare_compile (const char *buf, size_t len, const char *chunkname,
                                    const char *mode, char *err, size_t errsz) {
  const void *fn = NULL;
  pthread_mutex_lock(&compiling);
  if (owner == NULL)
    snprintf(err, errsz, "no shared state (lshare_init)");
  else {
    int top = lua_gettop(owner);
    if (luaL_loadbufferx(owner, buf, len, chunkname, mode) == LUA_OK) {
      /* referenced from the owner's registry: kept for the life of the process */
      fn = clLvalue(s2v(owner->top.p - 1))->p;
      luaL_ref(owner, LUA_REGISTRYINDEX);
    }
    else {
      const char *msg = lua_tostring(owner, -1);
      snprintf(err, errsz, "%s", msg ? msg : "error compiling a shared chunk");
    }
    lua_settop(owner, top);
    freeze_new();  /* also what a failed compile left */
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


LUA_API int lshare_push (lua_State *L, const void *fn) {
  Proto *p = (Proto *)fn;
  global_State *og = atomic_load_explicit(&owner_g, memory_order_acquire);
  LClosure *cl;
  if (og == NULL || og == G(L) || G(L)->seed != og->seed)
    return 0;
  if (!lua_checkstack(L, 2) || !can_share(L, p))
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
  Entry *e;
  if (og == NULL || og == G(L))
    return NULL;
  e = atomic_load_explicit(&index_buckets[h & (INDEX_SIZE - 1)], memory_order_acquire);
  for (; e != NULL; e = e->next) {
    TString *ts = e->ts;
    if (ts->hash == h && cast_sizet(ts->shrlen) == l && memcmp(getshrstr(ts), str, l) == 0)
      return ts;
  }
  return NULL;
}
