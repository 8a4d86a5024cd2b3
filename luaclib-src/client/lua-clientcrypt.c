/*
 * client.crypt for command-line clients (examples/login/client.lua): the same code as
 * skynet.crypt, built into luaclib/client.so as well, where require "client.crypt" looks.
 * lua-crypt.c defines luaopen_client_crypt.
 */
#include "../lua-crypt.c"
