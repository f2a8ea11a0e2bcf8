/* Status codes shared by every libhopwatch module. */
#ifndef HOPWATCH_STATUS_H
#define HOPWATCH_STATUS_H

/* 0 is success; every error is negative so callers can test `< 0`. */
enum hw_status {
	HW_OK = 0,
	HW_ERR_NOMEM = -1,       /* allocation failed */
	HW_ERR_INVAL = -2,       /* bad argument or option value */
	HW_ERR_TRUNCATED = -3,   /* input ends before a field it announces */
	HW_ERR_MALFORMED = -4,   /* input is not what its format requires */
	HW_ERR_UNSUPPORTED = -5, /* valid input of a kind we do not handle */
	HW_ERR_NOT_OURS = -6,    /* a packet that answers somebody else's probe */
	HW_ERR_PERM = -7,        /* missing privilege (raw sockets) */
	HW_ERR_SYS = -8,         /* a system call failed; errno tells more */
	HW_ERR_NOHOST = -9,      /* a name did not resolve */
	HW_ERR_IO = -10,         /* reading or writing a file failed */
	HW_ERR_AGAIN = -11,      /* nothing to read now */
	HW_ERR_SERVFAIL = -12,   /* a server answered, but that it failed (DNS SERVFAIL) */
};

/* A one-line, lower-case description of a status (never NULL). */
const char *hw_strerror(int status);

#endif
