package store

import "slices"

// Each enum below has exactly one Go definition: its constants, and the
// function listing all of them, which Valid uses and which the PostgreSQL
// backend's tests compare against the database CHECK constraints. Adding a
// value means adding it here and in a migration; the test fails until both
// agree.

// ClusterStatus is the lifecycle status of a cluster. See Transitions for the
// state machine.
type ClusterStatus string

// Cluster statuses.
const (
	ClusterPending          ClusterStatus = "PENDING"
	ClusterCreating         ClusterStatus = "CREATING"
	ClusterReady            ClusterStatus = "READY"
	ClusterHibernating      ClusterStatus = "HIBERNATING"
	ClusterHibernated       ClusterStatus = "HIBERNATED"
	ClusterResuming         ClusterStatus = "RESUMING"
	ClusterDestroying       ClusterStatus = "DESTROYING"
	ClusterDestroyVerifying ClusterStatus = "DESTROY_VERIFYING"
	ClusterDestroyFailed    ClusterStatus = "DESTROY_FAILED"
	ClusterDestroyed        ClusterStatus = "DESTROYED"
	ClusterFailed           ClusterStatus = "FAILED"
)

// ClusterStatuses returns every ClusterStatus.
func ClusterStatuses() []ClusterStatus {
	return []ClusterStatus{ClusterPending, ClusterCreating, ClusterReady, ClusterHibernating,
		ClusterHibernated, ClusterResuming, ClusterDestroying, ClusterDestroyVerifying,
		ClusterDestroyFailed, ClusterDestroyed, ClusterFailed}
}

// Valid reports whether s is a known ClusterStatus.
func (s ClusterStatus) Valid() bool { return slices.Contains(ClusterStatuses(), s) }

// Active reports whether a cluster in status s still counts for name
// uniqueness: every status but DESTROYED and FAILED.
func (s ClusterStatus) Active() bool { return s != ClusterDestroyed && s != ClusterFailed }

// Platform is the cloud a cluster runs on.
type Platform string

// Platforms.
const (
	PlatformAWS      Platform = "aws"
	PlatformIBMCloud Platform = "ibmcloud"
	PlatformGCP      Platform = "gcp"
	PlatformAzure    Platform = "azure"
)

// Platforms returns every Platform.
func Platforms() []Platform {
	return []Platform{PlatformAWS, PlatformIBMCloud, PlatformGCP, PlatformAzure}
}

// Valid reports whether p is a known Platform.
func (p Platform) Valid() bool { return slices.Contains(Platforms(), p) }

// ClusterType is the distribution or managed service of a cluster.
type ClusterType string

// Cluster types.
const (
	ClusterTypeOpenShift ClusterType = "openshift"
	ClusterTypeROSA      ClusterType = "rosa"
	ClusterTypeEKS       ClusterType = "eks"
	ClusterTypeIKS       ClusterType = "iks"
	ClusterTypeGKE       ClusterType = "gke"
	ClusterTypeARO       ClusterType = "aro"
	ClusterTypeAKS       ClusterType = "aks"
)

// ClusterTypes returns every ClusterType.
func ClusterTypes() []ClusterType {
	return []ClusterType{ClusterTypeOpenShift, ClusterTypeROSA, ClusterTypeEKS, ClusterTypeIKS,
		ClusterTypeGKE, ClusterTypeARO, ClusterTypeAKS}
}

// Valid reports whether t is a known ClusterType.
func (t ClusterType) Valid() bool { return slices.Contains(ClusterTypes(), t) }

// JobType is the kind of work a job does to its cluster.
type JobType string

// Job types.
const (
	JobCreate                 JobType = "CREATE"
	JobDestroy                JobType = "DESTROY"
	JobJanitorDestroy         JobType = "JANITOR_DESTROY"
	JobConfigureEFS           JobType = "CONFIGURE_EFS"
	JobProvisionSharedStorage JobType = "PROVISION_SHARED_STORAGE"
	JobUnlinkSharedStorage    JobType = "UNLINK_SHARED_STORAGE"
	JobHibernate              JobType = "HIBERNATE"
	JobResume                 JobType = "RESUME"
	JobPostConfigure          JobType = "POST_CONFIGURE"
	JobPoolReplenish          JobType = "POOL_REPLENISH"
	JobPoolClean              JobType = "POOL_CLEAN"
	JobPoolRefresh            JobType = "POOL_REFRESH"
	JobCreateWindowsSnapshot  JobType = "CREATE_WINDOWS_SNAPSHOT"
)

// JobTypes returns every JobType.
func JobTypes() []JobType {
	return []JobType{JobCreate, JobDestroy, JobJanitorDestroy, JobConfigureEFS,
		JobProvisionSharedStorage, JobUnlinkSharedStorage, JobHibernate, JobResume,
		JobPostConfigure, JobPoolReplenish, JobPoolClean, JobPoolRefresh, JobCreateWindowsSnapshot}
}

// Valid reports whether t is a known JobType.
func (t JobType) Valid() bool { return slices.Contains(JobTypes(), t) }

// JobStatus is the status of a job.
//
// PENDING and RETRYING jobs are runnable (RETRYING once its RetryAt has
// passed); RUNNING jobs hold their cluster's lock; SUCCEEDED and FAILED are
// terminal.
type JobStatus string

// Job statuses.
const (
	JobPending   JobStatus = "PENDING"
	JobRunning   JobStatus = "RUNNING"
	JobSucceeded JobStatus = "SUCCEEDED"
	JobFailed    JobStatus = "FAILED"
	JobRetrying  JobStatus = "RETRYING"
)

// JobStatuses returns every JobStatus.
func JobStatuses() []JobStatus {
	return []JobStatus{JobPending, JobRunning, JobSucceeded, JobFailed, JobRetrying}
}

// Valid reports whether s is a known JobStatus.
func (s JobStatus) Valid() bool { return slices.Contains(JobStatuses(), s) }

// Terminal reports whether s is SUCCEEDED or FAILED.
func (s JobStatus) Terminal() bool { return s == JobSucceeded || s == JobFailed }

// Role is an RBAC role.
type Role string

// Roles.
const (
	RoleRequester     Role = "requester"
	RolePlatformAdmin Role = "platform_admin"
	RoleAuditor       Role = "auditor"
)

// Roles returns every Role.
func Roles() []Role { return []Role{RoleRequester, RolePlatformAdmin, RoleAuditor} }

// Valid reports whether r is a known Role.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// PrincipalType is the kind of IAM principal an RBAC mapping names.
type PrincipalType string

// IAM principal types.
const (
	PrincipalUser  PrincipalType = "user"
	PrincipalRole  PrincipalType = "role"
	PrincipalGroup PrincipalType = "group"
)

// PrincipalTypes returns every PrincipalType.
func PrincipalTypes() []PrincipalType {
	return []PrincipalType{PrincipalUser, PrincipalRole, PrincipalGroup}
}

// Valid reports whether t is a known PrincipalType.
func (t PrincipalType) Valid() bool { return slices.Contains(PrincipalTypes(), t) }

// AuditStatus is the outcome an audit event records.
type AuditStatus string

// Audit event statuses.
const (
	AuditSuccess AuditStatus = "SUCCESS"
	AuditFailure AuditStatus = "FAILURE"
	AuditDenied  AuditStatus = "DENIED"
)

// AuditStatuses returns every AuditStatus.
func AuditStatuses() []AuditStatus { return []AuditStatus{AuditSuccess, AuditFailure, AuditDenied} }

// Valid reports whether s is a known AuditStatus.
func (s AuditStatus) Valid() bool { return slices.Contains(AuditStatuses(), s) }

// ArtifactType is the kind of a stored cluster artifact.
type ArtifactType string

// Artifact types.
const (
	ArtifactInstallDirSnapshot ArtifactType = "INSTALL_DIR_SNAPSHOT"
	ArtifactLog                ArtifactType = "LOG"
	ArtifactAuthBundle         ArtifactType = "AUTH_BUNDLE"
	ArtifactMetadata           ArtifactType = "METADATA"
	ArtifactDestroyLog         ArtifactType = "DESTROY_LOG"
)

// ArtifactTypes returns every ArtifactType.
func ArtifactTypes() []ArtifactType {
	return []ArtifactType{ArtifactInstallDirSnapshot, ArtifactLog, ArtifactAuthBundle,
		ArtifactMetadata, ArtifactDestroyLog}
}

// Valid reports whether t is a known ArtifactType.
func (t ArtifactType) Valid() bool { return slices.Contains(ArtifactTypes(), t) }
