-- The "debug" protocol every Lua service answers (PTYPE_DEBUG).
--
-- skynet.lua calls init(skynet, export) once; export carries internals the
-- debugging tools need (dispatch, suspend, resume).  Other modules can add
-- commands with reg_debugcmd(name, fn).

local extra_commands = {}

local function init(skynet, export)
	local info_provider

	function skynet.info_func(fn)
		info_provider = fn
	end

	local commands	-- built on first use

	local function build()
		local cmd = {}

		function cmd.MEM()
			skynet.ret(skynet.pack(collectgarbage "count"))
		end

		local collecting = false
		function cmd.GC()
			if collecting then
				return
			end
			collecting = true
			local kb_before = collectgarbage "count"
			local t_before = skynet.now()
			collectgarbage "collect"
			skynet.yield()	-- lets queued GC requests pass by
			local kb_after = collectgarbage "count"
			local t_after = skynet.now()
			skynet.error(string.format("GC %.2f Kb -> %.2f Kb, cost %.2f sec",
				kb_before, kb_after, (t_after - t_before) / 100))
			collecting = false
		end

		function cmd.STAT()
			skynet.ret(skynet.pack {
				task = skynet.task(),
				mqlen = skynet.stat "mqlen",
				cpu = skynet.stat "cpu",
				message = skynet.stat "message",
			})
		end

		function cmd.KILLTASK(name)
			local co = skynet.killthread(name)
			if co then
				skynet.error(string.format("Kill %s", co))
				skynet.ret()
			else
				skynet.error(string.format("Kill %s : Not found", name))
				skynet.ret(skynet.pack "Not found")
			end
		end

		function cmd.TASK(session)
			if session then
				skynet.ret(skynet.pack(skynet.task(session)))
			else
				local all = {}
				skynet.task(all)
				skynet.ret(skynet.pack(all))
			end
		end

		function cmd.UNIQTASK()
			skynet.ret(skynet.pack(skynet.uniqtask()))
		end

		function cmd.INFO(...)
			if info_provider then
				skynet.ret(skynet.pack(info_provider(...)))
			else
				skynet.ret(skynet.pack(nil))
			end
		end

		function cmd.EXIT()
			skynet.exit()
		end

		function cmd.RUN(source, filename, ...)
			local inject = require "skynet.inject"
			local args = table.pack(...)
			local ok, output = inject(skynet, source, filename, args,
				export.dispatch, skynet.register_protocol)
			collectgarbage "collect"
			skynet.ret(skynet.pack(ok, table.concat(output, "\n")))
		end

		function cmd.TERM(service)
			skynet.term(service)
		end

		function cmd.REMOTEDEBUG(...)
			local remote = require "skynet.remotedebug"
			remote.start(export, ...)
		end

		function cmd.SUPPORT(pname)
			return skynet.ret(skynet.pack(skynet.dispatch(pname) ~= nil))
		end

		function cmd.PING()
			return skynet.ret()
		end

		function cmd.LINK()
			-- never answered: the caller learns we died when the response fails
			skynet.response()
		end

		function cmd.TRACELOG(pname, flag)
			if type(pname) ~= "string" then
				flag = pname
				pname = "lua"
			end
			skynet.error(string.format("Turn trace log %s for %s", flag, pname))
			skynet.traceproto(pname, flag)
			skynet.ret()
		end

		return cmd
	end

	skynet.register_protocol {
		name = "debug",
		id = assert(skynet.PTYPE_DEBUG),
		pack = assert(skynet.pack),
		unpack = assert(skynet.unpack),
		dispatch = function(_, _, name, ...)
			commands = commands or build()
			local fn = commands[name] or extra_commands[name]
			assert(fn, name)
			fn(...)
		end,
	}
end

local function reg_debugcmd(name, fn)
	extra_commands[name] = fn
end

return {
	init = init,
	reg_debugcmd = reg_debugcmd,
}
