package policy

import (
	"strings"
	"unicode"

	"github.com/cilium/ebpf/asm"
)

// helperProfiles classifies every helper the kernel has (every one
// cilium/ebpf names; TestEveryHelperClassified keeps it so) by the profile
// that grants it. "observe" holds the helpers that only read and report:
// they read kernel or process memory, the program's own maps and context,
// or time and ids, and write only to the program's own maps, buffers and
// stack. Every helper that changes the system outside the program belongs
// to a profile named for that change; those with no narrower profile
// belong to "all". An id missing from this table (a helper newer than
// this build) is granted by "all" alone.
var helperProfiles = map[asm.BuiltinFunc]string{
	// Reads and reports: the program's own maps, buffers and stack.
	asm.FnMapLookupElem: Observe, asm.FnMapUpdateElem: Observe, asm.FnMapDeleteElem: Observe,
	asm.FnMapPushElem: Observe, asm.FnMapPopElem: Observe, asm.FnMapPeekElem: Observe,
	asm.FnMapLookupPercpuElem: Observe, asm.FnForEachMapElem: Observe,
	asm.FnTailCall:        Observe, // into the object's own programs (prog array fds are checked at update)
	asm.FnPerfEventOutput: Observe, asm.FnSkbOutput: Observe, asm.FnXdpOutput: Observe,
	asm.FnRingbufOutput: Observe, asm.FnRingbufReserve: Observe, asm.FnRingbufSubmit: Observe,
	asm.FnRingbufDiscard: Observe, asm.FnRingbufQuery: Observe,
	asm.FnRingbufReserveDynptr: Observe, asm.FnRingbufSubmitDynptr: Observe, asm.FnRingbufDiscardDynptr: Observe,
	asm.FnUserRingbufDrain: Observe,
	asm.FnDynptrFromMem:    Observe, asm.FnDynptrRead: Observe, asm.FnDynptrWrite: Observe, asm.FnDynptrData: Observe,
	asm.FnSpinLock: Observe, asm.FnSpinUnlock: Observe, asm.FnKptrXchg: Observe,
	asm.FnGetLocalStorage: Observe,
	asm.FnSkStorageGet:    Observe, asm.FnSkStorageDelete: Observe,
	asm.FnInodeStorageGet: Observe, asm.FnInodeStorageDelete: Observe,
	asm.FnTaskStorageGet: Observe, asm.FnTaskStorageDelete: Observe,
	asm.FnCgrpStorageGet: Observe, asm.FnCgrpStorageDelete: Observe,
	asm.FnTimerInit: Observe, asm.FnTimerSetCallback: Observe, asm.FnTimerStart: Observe, asm.FnTimerCancel: Observe,
	asm.FnLoop: Observe, asm.FnFindVma: Observe,
	asm.FnPerCpuPtr: Observe, asm.FnThisCpuPtr: Observe,
	asm.FnSeqPrintf: Observe, asm.FnSeqWrite: Observe, asm.FnSeqPrintfBtf: Observe, // an iterator's own output
	asm.FnTracePrintk: Observe, asm.FnTraceVprintk: Observe, // the trace pipe is output, shared with the host's tracing
	asm.FnSnprintf: Observe, asm.FnSnprintfBtf: Observe, asm.FnStrtol: Observe, asm.FnStrtoul: Observe, asm.FnStrncmp: Observe,
	asm.FnCsumDiff: Observe, // computes over buffers the program passes

	// Reads and reports: kernel and process memory, state, time and ids.
	asm.FnProbeRead: Observe, asm.FnProbeReadStr: Observe,
	asm.FnProbeReadUser: Observe, asm.FnProbeReadKernel: Observe,
	asm.FnProbeReadUserStr: Observe, asm.FnProbeReadKernelStr: Observe,
	asm.FnCopyFromUser: Observe, asm.FnCopyFromUserTask: Observe, asm.FnDPath: Observe,
	asm.FnKtimeGetNs: Observe, asm.FnKtimeGetBootNs: Observe, asm.FnKtimeGetCoarseNs: Observe,
	asm.FnKtimeGetTaiNs: Observe, asm.FnJiffies64: Observe,
	asm.FnGetPrandomU32: Observe, asm.FnGetSmpProcessorId: Observe, asm.FnGetNumaNodeId: Observe,
	asm.FnGetCurrentPidTgid: Observe, asm.FnGetCurrentUidGid: Observe, asm.FnGetCurrentComm: Observe,
	asm.FnGetCurrentTask: Observe, asm.FnGetCurrentTaskBtf: Observe, asm.FnGetNsCurrentPidTgid: Observe,
	asm.FnGetCurrentCgroupId: Observe, asm.FnGetCurrentAncestorCgroupId: Observe,
	asm.FnCurrentTaskUnderCgroup: Observe, asm.FnTaskPtRegs: Observe,
	asm.FnGetStackid: Observe, asm.FnGetStack: Observe, asm.FnGetTaskStack: Observe,
	asm.FnPerfEventRead: Observe, asm.FnPerfEventReadValue: Observe, asm.FnPerfProgReadValue: Observe,
	asm.FnReadBranchRecords: Observe, asm.FnGetBranchSnapshot: Observe,
	asm.FnGetFuncIp: Observe, asm.FnGetAttachCookie: Observe,
	asm.FnGetFuncArg: Observe, asm.FnGetFuncRet: Observe, asm.FnGetFuncArgCnt: Observe,
	asm.FnGetRetval:    Observe,
	asm.FnImaInodeHash: Observe, asm.FnImaFileHash: Observe,
	asm.FnSysctlGetName: Observe, asm.FnSysctlGetCurrentValue: Observe, asm.FnSysctlGetNewValue: Observe,

	// Reads and reports: packets and sockets (the program types that have
	// them need a profile of their own, except socket filters).
	asm.FnSkbLoadBytes: Observe, asm.FnSkbLoadBytesRelative: Observe,
	asm.FnXdpLoadBytes: Observe, asm.FnXdpGetBuffLen: Observe,
	asm.FnGetCgroupClassid: Observe, asm.FnSkbCgroupClassid: Observe, asm.FnGetRouteRealm: Observe,
	asm.FnSkbGetTunnelKey: Observe, asm.FnSkbGetTunnelOpt: Observe, asm.FnSkbGetXfrmState: Observe,
	asm.FnSkbUnderCgroup: Observe, asm.FnSkbCgroupId: Observe, asm.FnSkbAncestorCgroupId: Observe,
	asm.FnSkCgroupId: Observe, asm.FnSkAncestorCgroupId: Observe,
	asm.FnGetSocketCookie: Observe, asm.FnGetSocketUid: Observe, asm.FnGetNetnsCookie: Observe,
	asm.FnGetsockopt: Observe, asm.FnLoadHdrOpt: Observe, asm.FnFibLookup: Observe, asm.FnCheckMtu: Observe,
	asm.FnSkLookupTcp: Observe, asm.FnSkLookupUdp: Observe, asm.FnSkcLookupTcp: Observe, asm.FnSkRelease: Observe,
	asm.FnSkFullsock: Observe, asm.FnTcpSock: Observe, asm.FnGetListenerSock: Observe, asm.FnSockFromFile: Observe,
	asm.FnSkcToTcp6Sock: Observe, asm.FnSkcToTcpSock: Observe, asm.FnSkcToTcpTimewaitSock: Observe,
	asm.FnSkcToTcpRequestSock: Observe, asm.FnSkcToUdp6Sock: Observe, asm.FnSkcToUnixSock: Observe,
	asm.FnSkcToMptcpSock:    Observe,
	asm.FnTcpCheckSyncookie: Observe, asm.FnTcpRawCheckSyncookieIpv4: Observe, asm.FnTcpRawCheckSyncookieIpv6: Observe,

	// Changes packets, their routing and sockets.
	asm.FnSkbStoreBytes: Network, asm.FnL3CsumReplace: Network, asm.FnL4CsumReplace: Network,
	asm.FnCsumUpdate: Network, asm.FnCsumLevel: Network,
	asm.FnCloneRedirect: Network, asm.FnRedirect: Network, asm.FnRedirectMap: Network,
	asm.FnRedirectNeigh: Network, asm.FnRedirectPeer: Network,
	asm.FnSkbVlanPush: Network, asm.FnSkbVlanPop: Network,
	asm.FnSkbSetTunnelKey: Network, asm.FnSkbSetTunnelOpt: Network,
	asm.FnSkbChangeProto: Network, asm.FnSkbChangeType: Network, asm.FnSkbChangeTail: Network,
	asm.FnSkbChangeHead: Network, asm.FnSkbPullData: Network, asm.FnSkbAdjustRoom: Network,
	asm.FnSkbEcnSetCe: Network, asm.FnSkbSetTstamp: Network,
	asm.FnGetHashRecalc: Network, asm.FnSetHash: Network, asm.FnSetHashInvalid: Network, // they set skb->hash
	asm.FnXdpAdjustHead: Network, asm.FnXdpAdjustMeta: Network, asm.FnXdpAdjustTail: Network, asm.FnXdpStoreBytes: Network,
	asm.FnSetsockopt: Network, asm.FnSockOpsCbFlagsSet: Network, asm.FnBind: Network,
	asm.FnStoreHdrOpt: Network, asm.FnReserveHdrOpt: Network,
	asm.FnSkRedirectMap: Network, asm.FnSkRedirectHash: Network,
	asm.FnMsgRedirectMap: Network, asm.FnMsgRedirectHash: Network,
	asm.FnSockMapUpdate: Network, asm.FnSockHashUpdate: Network,
	asm.FnMsgApplyBytes: Network, asm.FnMsgCorkBytes: Network, asm.FnMsgPullData: Network,
	asm.FnMsgPushData: Network, asm.FnMsgPopData: Network,
	asm.FnLwtPushEncap: Network, asm.FnLwtSeg6StoreBytes: Network, asm.FnLwtSeg6AdjustSrh: Network,
	asm.FnLwtSeg6Action:     Network,
	asm.FnSkSelectReuseport: Network, asm.FnSkAssign: Network, asm.FnTcpSendAck: Network,
	asm.FnTcpGenSyncookie: Network, asm.FnTcpRawGenSyncookieIpv4: Network, asm.FnTcpRawGenSyncookieIpv6: Network,

	// Changes what the kernel decides: return values of kernel functions
	// and hooks, exec and sysctl outcomes.
	asm.FnOverrideReturn: Security, asm.FnSetRetval: Security,
	asm.FnSysctlSetNewValue: Security, asm.FnBprmOptsSet: Security,

	// Signals any process the program runs in.
	asm.FnSendSignal: Signal, asm.FnSendSignalThread: Signal,

	// Writes into the memory of any process the program runs in.
	asm.FnProbeWriteUser: WriteUser,

	// No narrower profile: the bpf() syscall from BPF, closing fds of the
	// process, kernel symbol addresses, and input devices (IR remotes).
	asm.FnUnspec: All,
	asm.FnSysBpf: All, asm.FnSysClose: All, asm.FnBtfFindByNameKind: All, asm.FnKallsymsLookupName: All,
	asm.FnRcRepeat: All, asm.FnRcKeydown: All, asm.FnRcPointerRel: All,
}

// helper names a helper id.
func helper(id int32) Helper {
	h := Helper{ID: id}
	if _, ok := helperProfiles[asm.BuiltinFunc(id)]; ok && id >= 0 {
		h.Name = helperName(asm.BuiltinFunc(id))
	}
	return h
}

// helperName is the kernel's name of a helper: cilium/ebpf's FnSendSignal
// is bpf_send_signal (TestHelperNames checks every one against libbpf's
// bpf_helper_defs.h).
func helperName(fn asm.BuiltinFunc) string {
	s := strings.TrimPrefix(fn.String(), "Fn")
	var b strings.Builder
	b.WriteString("bpf")
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// helperByName finds a helper by its kernel name, with or without "bpf_".
func helperByName(name string) (asm.BuiltinFunc, bool) {
	if !strings.HasPrefix(name, "bpf_") {
		name = "bpf_" + name
	}
	for fn := range helperProfiles {
		if helperName(fn) == name {
			return fn, true
		}
	}
	return 0, false
}
