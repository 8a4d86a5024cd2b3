# Sourced by the bench scripts that start a node on a tree's Lua layer, ours or upstream's.
#
# node_config <file> <tree> <start> <service dir> <threads> [lines]: writes to <file> a
# config whose start service <start> is found in <service dir> (after <tree>/service), with
# <tree>'s loader, lualib, luaclib and cservice, and any further config lines; prints <file>.
node_config() {
	cat > "$1" <<CFG
thread = $5
harbor = 0
start = "$3"
bootstrap = "snlua bootstrap"
luaservice = "$2/service/?.lua;$4/?.lua"
lualoader = "$2/lualib/loader.lua"
lua_path = "$2/lualib/?.lua;$2/lualib/?/init.lua"
lua_cpath = "$2/luaclib/?.so"
cpath = "$2/cservice/?.so"
${6:-}
CFG
	echo "$1"
}
