/*
 * skynet_module.h -- C service modules loaded from shared objects and the
 * four optional entry points (<name>_create/_init/_release/_signal).
 */
#ifndef SKYNET_MODULE_H
#define SKYNET_MODULE_H

#ifdef __cplusplus
extern "C" {
#endif

struct skynet_context;
struct skynet_module;

/* Finds (loading it on first use) the module `name` on the cpath. */
struct skynet_module *skynet_module_query(const char *name);
void skynet_module_init(const char *path);

/* Calls of a module's entry points, for one instance of it. */
void *skynet_module_instance_create(struct skynet_module *);
int   skynet_module_instance_init(struct skynet_module *, void *inst,
                                  struct skynet_context *ctx, const char *parm);
void  skynet_module_instance_release(struct skynet_module *, void *inst);
void  skynet_module_instance_signal(struct skynet_module *, void *inst, int signal);

#ifdef __cplusplus
}
#endif

/* The entry points, each found as <name>_create, <name>_init, ... */
typedef void *(*skynet_dl_create)(void);
typedef int   (*skynet_dl_init)(void *inst, struct skynet_context *, const char *parm);
typedef void  (*skynet_dl_release)(void *inst);
typedef void  (*skynet_dl_signal)(void *inst, int signal);

struct skynet_module {
    const char        *name;
    void              *module;     /* dlopen handle */
    skynet_dl_create   create;
    skynet_dl_init     init;
    skynet_dl_release  release;
    skynet_dl_signal   signal;
};

#endif /* SKYNET_MODULE_H */
