PKG_CFLAGS := -I/usr/include/json-c 
PKG_LIBS := -lz -ljson-c 
CHECK_CFLAGS := -pthread 
CHECK_LIBS := -lcheck_pic -lrt -lm -lsubunit 
