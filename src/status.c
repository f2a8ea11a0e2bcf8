/* Descriptions of enum hw_status. */
#include <hopwatch/status.h>

const char *hw_strerror(int status)
{
	switch (status) {
	case HW_OK: return "success";
	case HW_ERR_NOMEM: return "out of memory";
	case HW_ERR_INVAL: return "invalid argument";
	case HW_ERR_TRUNCATED: return "truncated input";
	case HW_ERR_MALFORMED: return "malformed input";
	case HW_ERR_UNSUPPORTED: return "unsupported input";
	case HW_ERR_NOT_OURS: return "not an answer to our probe";
	case HW_ERR_PERM: return "permission denied (raw sockets need root or CAP_NET_RAW)";
	case HW_ERR_SYS: return "system call failed";
	case HW_ERR_NOHOST: return "unknown host";
	case HW_ERR_IO: return "input/output error";
	case HW_ERR_AGAIN: return "try again";
	case HW_ERR_SERVFAIL: return "server failure";
	}
	return "unknown error";
}
