package storetest

import (
	"github.com/anishathalye/porcupine"

	"github.com/ocpctl/ocpstore/store"
)

// The wire form of what a torture child process sends its parent after a
// round (see RunTortureProcesses): its workers' operations and clock moves,
// in JSON with exported fields, converted back exactly on the other side.

// wireOp is a porcupine.Operation of a torture worker.
type wireOp struct {
	Client       int
	Call, Return int64
	Kind         tortureKind
	Cluster, Job int
	Worker       int
	Token, TTL   int64
	Lo, Hi       int64
	Res          tortureRes
	Lock         wireLock
	JobOut       wireJob
	N            int64
	Why          string
}

type wireLock struct {
	Job, Worker       int
	Token             int64
	LockedAt, Expires int64
}

type wireJob struct {
	Status   store.JobStatus
	Attempts int
	At       int64
}

type wireMove struct{ Stamp, From, To int64 }

// tortureRoundResult is one child's round: its operations and clock
// moves, or the error that stopped it.
type tortureRoundResult struct {
	Ops   []wireOp
	Moves []wireMove
	Err   string
}

func toWire(op porcupine.Operation) wireOp {
	in, out := op.Input.(tortureInput), op.Output.(tortureOutput)
	return wireOp{Client: op.ClientId, Call: op.Call, Return: op.Return,
		Kind: in.kind, Cluster: in.cluster, Job: in.job, Worker: in.worker, Token: in.token, TTL: in.ttl, Lo: in.lo, Hi: in.hi,
		Res: out.res, Lock: wireLock{Job: out.lock.job, Worker: out.lock.worker, Token: out.lock.token,
			LockedAt: out.lock.lockedAt, Expires: out.lock.expires},
		JobOut: wireJob{Status: out.job.status, Attempts: out.job.attempts, At: out.job.at}, N: out.n, Why: out.why}
}

func fromWire(w wireOp) porcupine.Operation {
	in := tortureInput{kind: w.Kind, cluster: w.Cluster, job: w.Job, worker: w.Worker, token: w.Token, ttl: w.TTL, lo: w.Lo, hi: w.Hi}
	out := tortureOutput{res: w.Res, lock: tortureLock{job: w.Lock.Job, worker: w.Lock.Worker, token: w.Lock.Token,
		lockedAt: w.Lock.LockedAt, expires: w.Lock.Expires},
		job: tortureJob{status: w.JobOut.Status, attempts: w.JobOut.Attempts, at: w.JobOut.At}, n: w.N, why: w.Why}
	return porcupine.Operation{ClientId: w.Client, Input: in, Call: w.Call, Output: out, Return: w.Return}
}
