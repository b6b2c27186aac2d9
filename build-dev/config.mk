PKG_CFLAGS := -I/usr/include/json-c -DUTF8PROC_EXPORTS 
PKG_LIBS := -lz -ljson-c -lpcre2-8 -lutf8proc 
CHECK_CFLAGS := -pthread 
CHECK_LIBS := -lcheck_pic -lrt -lm -lsubunit 
