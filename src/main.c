/* The skynet executable: all of the node lives in libskynet; this file only hands it the
 * command line. The executable also links the process's one Lua and exports it (-Wl,-E). */
int skynet_main(int argc, char *argv[]);

int
main(int argc, char *argv[]) {
	return skynet_main(argc, argv);
}
