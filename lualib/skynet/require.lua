-- Two-phase module loading for services.
--
-- A module may register initialisers with skynet.init(f) while its chunk runs.
-- * Required from the service's main chunk (the main thread) the module loads
--   with the stock `require`; its initialisers are kept and run by
--   skynet.start just before the start function.
-- * Required later from a task coroutine the module chunk runs in that
--   coroutine (so it may block), its initialisers run right after it, and any
--   other task requiring the same module meanwhile waits for the first one.

local stock_require = require
local loaded = package.loaded

local M = {}

local main_thread, is_main = coroutine.running()
assert(is_main, "skynet.require must initialize in main thread")

-- coroutine -> list of initialisers collected while it loads a module
local collecting = { [main_thread] = {} }
-- module name -> { owner = coroutine loading it, waiting coroutines... }
local in_flight = {}

local function framework()
	return stock_require "skynet"
end

local function load_in_task(name, co, path, chunk)
	local record = { owner = co }
	in_flight[name] = record

	local outer = collecting[co]
	local inits = {}
	collecting[co] = inits

	local ok, err = xpcall(function()
		local value = chunk(name, path)
		for i = 1, #inits do
			inits[i]()
		end
		if value == nil then
			value = true
		end
		loaded[name] = value
	end, debug.traceback)

	collecting[co] = outer
	in_flight[name] = nil

	if #record > 0 then
		local skynet = framework()
		for i = 1, #record do
			skynet.wakeup(record[i])
		end
	end

	if not ok then
		error(err)
	end
	return loaded[name]
end

function M.require(name)
	local value = loaded[name]
	if value ~= nil then
		return value
	end
	-- The plain require does it: in the main chunk (where nothing can wait),
	-- and for what is not a Lua file on package.path (or does not compile).
	local co, main = coroutine.running()
	local path = not main and package.searchpath(name, package.path)
	local chunk = path and loadfile(path)
	if not chunk then
		return stock_require(name)
	end

	local record = in_flight[name]
	if record then
		assert(record.owner ~= co, "circular dependency")
		record[#record + 1] = co
		framework().wait(co)
		value = loaded[name]
		if value == nil then
			error(string.format("require %s failed", name))
		end
		return value
	end

	return load_in_task(name, co, path, chunk)
end

function M.init(f)
	assert(type(f) == "function")
	local list = collecting[coroutine.running()]
	if list == nil then
		error("skynet.init must be called while a module is loading")
	end
	list[#list + 1] = f
end

-- called once by skynet.start: run what the main chunk's requires registered
function M.init_all()
	local list = collecting[main_thread]
	collecting[main_thread] = nil
	for i = 1, #list do
		list[i]()
	end
end

return M
