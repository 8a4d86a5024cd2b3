-- skynet 1.0 name of skynet.sharedata (put lualib/compat10 on lua_path to keep old requires working)
return require "skynet.sharedata"
