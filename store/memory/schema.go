package memory

import (
	"strconv"

	"github.com/ocpctl/ocpstore/store"
)

// tables is the committed database: one table per relation of the
// PostgreSQL schema, with the indexes the queries need, maintained at
// commit. Clusters by status and by team are each kept in creation order,
// so a cluster listing by status or team walks one group instead of
// scanning and sorting the table (a keyset page costs a binary search plus
// the page), and all clusters in name order, which a name-sorted listing
// without a status or team filter walks the same way (names never change,
// so only a create or a delete moves that index); jobs by cluster and by
// status, and open (non-terminal) jobs by cluster in creation order, so
// LockRunnable and a claim read one head per cluster. Rows are never
// modified in place: a write stores a new row, and rows are copied deeply
// on the way in and on the way out, so no caller can reach stored state
// through a pointer, map or slice. Fencing tokens come from one monotonic
// counter (Backend.tokens), so a new grant's token is greater than any
// token ever granted; usage costs are summed as exact decimals, as
// PostgreSQL's NUMERIC sum. Unique indexes
// enforce the schema's unique constraints; group indexes keep filtered
// queries from scanning whole tables, and ordered ones let a listing walk
// its rows in order instead of sorting them.
type tables struct {
	clusters      table[store.Cluster] // by ID
	clusterName   *uniqueIndex[store.Cluster]
	clusterAll    *orderedIndex[store.Cluster] // one group, "", by (CreatedAt, ID)
	clusterByName *orderedIndex[store.Cluster] // one group, "", by (Name, ID) in byte order
	clusterStatus *orderedIndex[store.Cluster] // by status, each by (CreatedAt, ID)
	clusterTeam   *orderedIndex[store.Cluster] // by team, each by (CreatedAt, ID)

	jobs       table[store.Job] // by ID
	jobCluster *setIndex[store.Job]
	jobStatus  *setIndex[store.Job]
	jobOpen    *orderedIndex[store.Job] // non-terminal jobs by cluster, oldest first

	locks table[store.JobLock] // by cluster ID

	idem    table[store.IdempotencyKey] // by ID
	idemKey *uniqueIndex[store.IdempotencyKey]

	rbac      table[store.RBACMapping] // by ID
	rbacGrant *uniqueIndex[store.RBACMapping]
	rbacARN   *setIndex[store.RBACMapping]

	audit table[store.AuditEvent] // by ID

	outputs   table[store.ClusterOutputs] // by cluster ID
	outputsID *uniqueIndex[store.ClusterOutputs]

	artifacts   table[store.ClusterArtifact] // by ID
	artifactClu *setIndex[store.ClusterArtifact]

	usage        table[store.UsageSample] // by ID
	usageInstant *uniqueIndex[store.UsageSample]
	usageCluster *setIndex[store.UsageSample]
}

// nameKey is the partial unique key (name, platform, base_domain) of an
// active cluster. A NULL base domain is one value of its own, distinct from
// the empty string (UNIQUE NULLS NOT DISTINCT). Stored text has no NUL byte,
// so NUL separates the parts unambiguously.
func nameKey(c *store.Cluster) (string, bool) {
	if !c.Status.Active() {
		return "", false
	}
	bd := "\x00n"
	if c.BaseDomain != nil {
		bd = "\x00v" + *c.BaseDomain
	}
	return c.Name + "\x00" + string(c.Platform) + bd, true
}

func idemKey(scope, key string) string { return scope + "\x00" + key }

func grantKey(arn, team string, role store.Role) string {
	return arn + "\x00" + team + "\x00" + string(role)
}

func instantKey(s *store.UsageSample) string {
	return s.ClusterID + "\x00" + strconv.FormatInt(s.SampleTime.UnixMicro(), 10)
}

// byCreation returns an ordered index of clusters grouped by key, each
// group in the default listing order.
func byCreation(key func(*store.Cluster) string) *orderedIndex[store.Cluster] {
	return newOrdered(always(key), clusterOrder{}.cmp, func(c *store.Cluster) string { return c.ID })
}

func newTables() *tables {
	db := &tables{
		clusterName: newUnique(nameKey),
		clusterAll:  byCreation(func(*store.Cluster) string { return "" }),
		clusterByName: newOrdered(always(func(*store.Cluster) string { return "" }), clusterOrder{byName: true}.cmp,
			func(c *store.Cluster) string { return c.ID }),
		clusterStatus: byCreation(func(c *store.Cluster) string { return string(c.Status) }),
		clusterTeam:   byCreation(func(c *store.Cluster) string { return c.Team }),
		jobCluster:    newSet(always(func(j *store.Job) string { return j.ClusterID })),
		jobStatus:     newSet(always(func(j *store.Job) string { return string(j.Status) })),
		jobOpen: newOrdered(func(j *store.Job) (string, bool) {
			return j.ClusterID, !j.Status.Terminal()
		}, jobOrder(false), func(j *store.Job) string { return j.ID }),
		idemKey: newUnique(always(func(k *store.IdempotencyKey) string { return idemKey(k.Scope, k.Key) })),
		rbacGrant: newUnique(always(func(m *store.RBACMapping) string {
			return grantKey(m.IAMPrincipalARN, m.Team, m.Role)
		})),
		rbacARN:      newSet(always(func(m *store.RBACMapping) string { return m.IAMPrincipalARN })),
		outputsID:    newUnique(always(func(o *store.ClusterOutputs) string { return o.ID })),
		artifactClu:  newSet(always(func(a *store.ClusterArtifact) string { return a.ClusterID })),
		usageInstant: newUnique(always(instantKey)),
		usageCluster: newSet(always(func(s *store.UsageSample) string { return s.ClusterID })),
	}
	db.clusters = newTable[store.Cluster](db.clusterName, db.clusterAll, db.clusterByName, db.clusterStatus, db.clusterTeam)
	db.jobs = newTable[store.Job](db.jobCluster, db.jobStatus, db.jobOpen)
	db.locks = newTable[store.JobLock]()
	db.idem = newTable[store.IdempotencyKey](db.idemKey)
	db.rbac = newTable[store.RBACMapping](db.rbacGrant, db.rbacARN)
	db.audit = newTable[store.AuditEvent]()
	db.outputs = newTable[store.ClusterOutputs](db.outputsID)
	db.artifacts = newTable[store.ClusterArtifact](db.artifactClu)
	db.usage = newTable[store.UsageSample](db.usageInstant, db.usageCluster)
	return db
}

// overlay is one transaction's uncommitted writes, table by table.
type overlay struct {
	clusters  tableOverlay[store.Cluster]
	jobs      tableOverlay[store.Job]
	locks     tableOverlay[store.JobLock]
	idem      tableOverlay[store.IdempotencyKey]
	rbac      tableOverlay[store.RBACMapping]
	audit     tableOverlay[store.AuditEvent]
	outputs   tableOverlay[store.ClusterOutputs]
	artifacts tableOverlay[store.ClusterArtifact]
	usage     tableOverlay[store.UsageSample]
}

// apply commits o. The caller holds the write token and the data lock.
func (db *tables) apply(o *overlay) {
	db.clusters.apply(&o.clusters)
	db.jobs.apply(&o.jobs)
	db.locks.apply(&o.locks)
	db.idem.apply(&o.idem)
	db.rbac.apply(&o.rbac)
	db.audit.apply(&o.audit)
	db.outputs.apply(&o.outputs)
	db.artifacts.apply(&o.artifacts)
	db.usage.apply(&o.usage)
}

// dbView is the database as one call sees it: committed tables under the
// caller's overlay, or the committed tables alone (o nil) for a read
// outside a transaction.
type dbView struct {
	db        *tables
	clusters  tableView[store.Cluster]
	jobs      tableView[store.Job]
	locks     tableView[store.JobLock]
	idem      tableView[store.IdempotencyKey]
	rbac      tableView[store.RBACMapping]
	audit     tableView[store.AuditEvent]
	outputs   tableView[store.ClusterOutputs]
	artifacts tableView[store.ClusterArtifact]
	usage     tableView[store.UsageSample]
}

func (db *tables) view(o *overlay) *dbView {
	v := &dbView{db: db,
		clusters: tableView[store.Cluster]{t: &db.clusters}, jobs: tableView[store.Job]{t: &db.jobs},
		locks: tableView[store.JobLock]{t: &db.locks}, idem: tableView[store.IdempotencyKey]{t: &db.idem},
		rbac: tableView[store.RBACMapping]{t: &db.rbac}, audit: tableView[store.AuditEvent]{t: &db.audit},
		outputs: tableView[store.ClusterOutputs]{t: &db.outputs}, artifacts: tableView[store.ClusterArtifact]{t: &db.artifacts},
		usage: tableView[store.UsageSample]{t: &db.usage}}
	if o != nil {
		v.clusters.o, v.jobs.o, v.locks.o, v.idem.o = &o.clusters, &o.jobs, &o.locks, &o.idem
		v.rbac.o, v.audit.o, v.outputs.o = &o.rbac, &o.audit, &o.outputs
		v.artifacts.o, v.usage.o = &o.artifacts, &o.usage
	}
	return v
}
