-- Preload file of test_minimal: runs before every service with the launch line's words.
LT_PRELOADED = table.concat({ ... }, " ")
