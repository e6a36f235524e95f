package main

import "syscall"

// childAttr makes the kernel kill a child of the stack when isrload dies,
// even by SIGKILL, so no redis-server or replica outlives the benchmark.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
