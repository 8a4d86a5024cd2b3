-- test_host again, with lua_gcmode = "incremental" (test_host_incgc.config).
local source = assert(loadfile(SERVICE_PATH .. "test_host.lua"))
return source(...)
