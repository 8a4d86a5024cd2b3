/* The entry point of a swapped tree's `skynet` executable (see skynet-compat/swap): the whole
 * node lives in our core (linked in as a static library); the tree's own Lua is linked beside
 * it and exported with -Wl,-E for the tree's C modules. */
int skynet_main(int argc, char *argv[]);

int
main(int argc, char *argv[]) {
	return skynet_main(argc, argv);
}
