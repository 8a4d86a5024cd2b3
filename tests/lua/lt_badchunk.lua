-- Helper: fails in its main chunk (reported by the snlua host).
require "skynet"
error("lt_badchunk breaks in its main chunk")
