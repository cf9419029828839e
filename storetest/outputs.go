package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/ocpctl/ocpstore/store"
)

// testOutputs covers OutputStore: Upsert (insert, replace keeping ID and
// CreatedAt, the default SA namespace), Get, Delete, and artifacts.
func testOutputs(t *testing.T, setup setupFunc) {
	t.Run("UpsertGetDelete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.readyCluster(t)
		o := &store.ClusterOutputs{
			ClusterID:          c.ID,
			APIURL:             ptr("https://api.c.example.com:6443"),
			ConsoleURL:         ptr("https://console.c.example.com"),
			KubeconfigS3URI:    ptr("s3://bucket/c/kubeconfig"),
			KubeadminSecretRef: ptr("arn:aws:secretsmanager:us-east-1:1:secret:c"),
			MetadataS3URI:      ptr("s3://bucket/c/metadata.json"),
			DashboardToken:     ptr("dash-token"),
			SAName:             ptr("ocpctl"),
			SAToken:            ptr("sa-token"),
			SATokenExpiresAt:   ptr(epoch.Add(90 * 24 * time.Hour)),
			OCLoginCommand:     ptr("oc login --token=sa-token"),
		}
		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, o), "insert")
		first, err := b.s2.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		if !strings.HasPrefix(first.ID, store.PrefixOutputs) {
			t.Fatalf("assigned ID %q, want prefix %q", first.ID, store.PrefixOutputs)
		}
		want := *o
		want.ID, want.SANamespace = first.ID, ptr("default")
		want.CreatedAt, want.UpdatedAt = b.clock.Now(), b.clock.Now()
		requireEqual(t, &want, first, "inserted outputs")
		checkTimes(t, first, "outputs")

		b.clock.Advance(time.Hour)
		replacement := &store.ClusterOutputs{ClusterID: c.ID, APIURL: ptr("https://api2.c.example.com:6443"),
			SANamespace: ptr("ocpctl-system")}
		requireNoErr(t, b.s2.Outputs.Upsert(b.ctx, replacement), "replace")
		got, err := b.s.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get replaced")
		want = store.ClusterOutputs{ID: first.ID, ClusterID: c.ID, APIURL: replacement.APIURL,
			SANamespace: ptr("ocpctl-system"), CreatedAt: first.CreatedAt, UpdatedAt: b.clock.Now()}
		requireEqual(t, &want, got, "replaced outputs (every field written, ID and CreatedAt kept)")

		requireNoErr(t, b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: c.ID}), "replace with nothing")
		got, err = b.s.Outputs.Get(b.ctx, c.ID)
		requireNoErr(t, err, "get")
		if got.SANamespace == nil || *got.SANamespace != "default" || got.APIURL != nil || got.ID != first.ID {
			t.Fatalf("outputs replaced with empty ones: %+v", got)
		}

		requireNoErr(t, b.s2.Outputs.Delete(b.ctx, c.ID), "delete")
		_, err = b.s.Outputs.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "get deleted outputs")
		requireErrIs(t, b.s.Outputs.Delete(b.ctx, c.ID), store.ErrNotFound, "delete twice")
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.s.Outputs.Upsert(b.ctx, &store.ClusterOutputs{ClusterID: "clu_missing", APIURL: ptr("x")})
		requireErrIs(t, err, store.ErrNotFound, "upsert outputs of a missing cluster")
		_, err = b.s.Outputs.Get(b.ctx, "clu_missing")
		requireErrIs(t, err, store.ErrNotFound, "get outputs of a missing cluster")
		c := b.cluster(t)
		_, err = b.s.Outputs.Get(b.ctx, c.ID)
		requireErrIs(t, err, store.ErrNotFound, "get outputs never written")
		err = b.s.Outputs.AddArtifact(b.ctx, &store.ClusterArtifact{ClusterID: "clu_missing",
			ArtifactType: store.ArtifactLog, S3URI: "s3://b/log"})
		requireErrIs(t, err, store.ErrNotFound, "add an artifact to a missing cluster")
	})

	t.Run("Artifacts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c, other := b.cluster(t), b.cluster(t)
		add := func(cluster string, typ store.ArtifactType, mods ...func(*store.ClusterArtifact)) *store.ClusterArtifact {
			t.Helper()
			a := &store.ClusterArtifact{ClusterID: cluster, ArtifactType: typ, S3URI: "s3://bucket/" + uniq("artifact")}
			for _, m := range mods {
				m(a)
			}
			requireNoErr(t, b.s.Outputs.AddArtifact(b.ctx, a), "add artifact")
			return a
		}
		log1 := add(c.ID, store.ArtifactLog, func(a *store.ClusterArtifact) {
			a.Checksum, a.SizeBytes = ptr("sha256:abc"), ptr(int64(1)<<40)
		})
		if !strings.HasPrefix(log1.ID, store.PrefixArtifact) {
			t.Fatalf("assigned ID %q, want prefix %q", log1.ID, store.PrefixArtifact)
		}
		requireTime(t, b.clock.Now(), log1.CreatedAt, "CreatedAt")
		b.clock.Advance(time.Second)
		meta := add(c.ID, store.ArtifactMetadata, func(a *store.ClusterArtifact) { a.SizeBytes = ptr(int64(0)) })
		log2 := add(c.ID, store.ArtifactLog)
		add(other.ID, store.ArtifactLog)

		got, err := b.s2.Outputs.ListArtifacts(b.ctx, c.ID, nil)
		requireNoErr(t, err, "list artifacts")
		requireIDs(t, []string{log1.ID, meta.ID, log2.ID}, ids(got, artifactID), "artifacts, oldest first")
		requireEqual(t, []*store.ClusterArtifact{log1, meta, log2}, got, "artifacts read back")
		checkTimes(t, got, "artifacts")
		got, err = b.s.Outputs.ListArtifacts(b.ctx, c.ID, ptr(store.ArtifactLog))
		requireNoErr(t, err, "list logs")
		requireIDs(t, []string{log1.ID, log2.ID}, ids(got, artifactID), "log artifacts")
		got, err = b.s.Outputs.ListArtifacts(b.ctx, c.ID, ptr(store.ArtifactAuthBundle))
		requireNoErr(t, err, "list auth bundles")
		requireIDs(t, nil, ids(got, artifactID), "auth bundle artifacts")

		dup := &store.ClusterArtifact{ID: log1.ID, ClusterID: c.ID, ArtifactType: store.ArtifactLog, S3URI: "s3://b/dup"}
		requireErrIs(t, b.s.Outputs.AddArtifact(b.ctx, dup), store.ErrConflict, "add an artifact with an existing ID")
		got, err = b.s.Outputs.ListArtifacts(b.ctx, c.ID, nil)
		requireNoErr(t, err, "list artifacts")
		if len(got) != 3 {
			t.Fatalf("%d artifacts after a refused duplicate, want 3", len(got))
		}
	})
}
