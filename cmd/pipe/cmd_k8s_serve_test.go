package main

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// k8sServeJob is servable: generated rows through a cast to a sink.
const k8sServeJob = `version: 1
name: scorer
stages:
  - {id: gen, type: generate, with: {count: 1, columns: [{name: a, type: int64}]}}
  - {id: f, type: cast, inputs: [gen], with: {columns: {a: float32}}}
  - {id: write, type: parquet_sink, inputs: [f], with: {path: out}}
`

func TestK8sServe(t *testing.T) {
	file := writeJob(t, k8sServeJob)
	code, out, errOut := pipe("k8s", file, "--serve", "--image", "pipe:1", "--replicas", "3", "--token-secret", "pipe-token",
		"--set", "gen.count=2", "--memory", "2Gi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want a ConfigMap, a Deployment and a Service:\n%s", len(docs), out)
	}
	var d appsv1.Deployment
	decodeK8s(t, docs[1], &d)
	var svc corev1.Service
	decodeK8s(t, docs[2], &svc)
	if d.Kind != "Deployment" || *d.Spec.Replicas != 3 || d.Spec.Selector.MatchLabels["app.kubernetes.io/instance"] != "scorer" {
		t.Fatalf("deployment %+v", d)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if got := strings.Join(c.Command, " "); got != "pipe serve /etc/pipe/"+filepath.Base(file)+" --http 0.0.0.0:8000 --grpc 0.0.0.0:8001 --set gen.count=2" {
		t.Errorf("command %q", got)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/v2/health/ready" || c.LivenessProbe.HTTPGet.Path != "/v2/health/live" || c.StartupProbe == nil {
		t.Errorf("probes: readiness %+v liveness %+v startup %+v", c.ReadinessProbe, c.LivenessProbe, c.StartupProbe)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "PIPE_SERVE_TOKEN" || c.Env[0].ValueFrom.SecretKeyRef.Name != "pipe-token" {
		t.Errorf("env %+v, want the token from the secret", c.Env)
	}
	if d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || *d.Spec.Template.Spec.TerminationGracePeriodSeconds < 30 {
		t.Errorf("restart policy %s grace %d", d.Spec.Template.Spec.RestartPolicy, *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}
	if svc.Kind != "Service" || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 8000 || svc.Spec.Ports[1].Port != 8001 || svc.Spec.Selector["app.kubernetes.io/instance"] != "scorer" {
		t.Errorf("service %+v", svc.Spec)
	}
}

func TestK8sServeRefuses(t *testing.T) {
	filtered := strings.Replace(k8sServeJob, "type: cast, inputs: [gen], with: {columns: {a: float32}}", "type: filter, inputs: [gen], with: {where: a > 0}", 1)
	for _, c := range []struct {
		name, job string
		args      []string
		want      string
	}{
		{"a filter", filtered, nil, `stage "f" (filter) is between the request and the response, and it drops rows`},
		{"shards", k8sServeJob, []string{"--shards", "2"}, "--shards and --schedule are for batch runs"},
		{"no image", k8sServeJob, []string{"--image", ""}, "--image is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeJob(t, c.job)
			code, out, errOut := pipe(append([]string{"k8s", file, "--serve", "--image", "pipe:1"}, c.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, exitUsage, c.want)
			}
		})
	}
}
