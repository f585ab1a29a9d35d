/* SPDX-License-Identifier: MIT */
/* The two macros every module uses. */
#ifndef NP_COMMON_MACROS_H
#define NP_COMMON_MACROS_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* The struct that embeds member, from a pointer to that member (an intrusive link). */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
