package main

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/serve/jobmodel"
)

// The ports pipe serve listens on in the pod.
const (
	k8sHTTPPort   = 8000
	k8sGRPCPort   = 8001
	k8sTokenKey   = "token"
	k8sDrainGrace = 45 // seconds: pipe serve's 30s drain, and some
)

// checkServe validates the flags of pipe k8s --serve.
func (o *k8sOptions) checkServe() error {
	switch {
	case o.image == "":
		return usage("--image is required")
	case strings.ContainsAny(o.image, " \t\n"):
		return usage("--image: %q holds white space", o.image)
	case o.shards != 0 || o.schedule != "":
		return usage("--serve prints a Deployment: --shards and --schedule are for batch runs")
	case o.replicas < 1:
		return usage("--replicas: %d is not a positive number", o.replicas)
	}
	for flag, v := range map[string]string{"--namespace": o.namespace, "--token-secret": o.tokenSecret} {
		if v == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
			return usage("%s: %q: %s", flag, v, strings.Join(errs, "; "))
		}
	}
	if err := o.checkSecrets(); err != nil {
		return err
	}
	var err error
	if o.cpuQ, err = parseQuantity("--cpu", o.cpu); err != nil {
		return err
	}
	if o.memQ, err = parseQuantity("--memory", o.memory); err != nil {
		return err
	}
	return o.parseEnv()
}

// runK8sServe checks that the job can be served and prints a ConfigMap, a
// Deployment and a Service.
func runK8sServe(g *globals, o *k8sOptions, file string) error {
	data, base, name, err := o.readJob(file)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", pipeline.ErrInvalidJob, file, err)
	}
	job, err := pipeline.Load(data, file, filepath.Dir(abs), pipeline.LoadOptions{Set: o.set})
	if err != nil {
		return err
	}
	if err := jobmodel.CheckServable(job, jobmodel.Ends{}); err != nil {
		return usage("%s: %v", file, err)
	}
	return writeK8s(g.stdout, []any{o.configMap(name, base, data), o.deployment(name, base), o.service(name)})
}

// deployment runs pipe serve in --replicas pods, ready once their models
// are loaded.
func (o *k8sOptions) deployment(name, base string) *appsv1.Deployment {
	args := []string{"pipe", "serve", path.Join(k8sJobDir, base),
		"--http", fmt.Sprintf("0.0.0.0:%d", k8sHTTPPort), "--grpc", fmt.Sprintf("0.0.0.0:%d", k8sGRPCPort)}
	for _, s := range o.set {
		args = append(args, "--set", s)
	}
	spec := o.podSpec(name, base)
	spec.RestartPolicy = corev1.RestartPolicyAlways
	spec.TerminationGracePeriodSeconds = ptr(int64(k8sDrainGrace))
	c := &spec.Containers[0]
	c.Command = args
	c.Env = append([]corev1.EnvVar(nil), o.envVars...)
	c.EnvFrom = o.envFrom()
	if o.tokenSecret != "" {
		c.Env = append(c.Env, corev1.EnvVar{Name: "PIPE_SERVE_TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: o.tokenSecret}, Key: k8sTokenKey},
		}})
	}
	c.Ports = []corev1.ContainerPort{
		{Name: "http", ContainerPort: k8sHTTPPort, Protocol: corev1.ProtocolTCP},
		{Name: "grpc", ContainerPort: k8sGRPCPort, Protocol: corev1.ProtocolTCP},
	}
	probe := func(p string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p, Port: intstr.FromString("http")}},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 2,
		}
	}
	// Models load before the server answers: up to 5 minutes of start-up.
	c.StartupProbe = probe("/v2/health/live", 5, 60)
	c.LivenessProbe = probe("/v2/health/live", 10, 3)
	c.ReadinessProbe = probe("/v2/health/ready", 2, 1)
	labels := k8sLabels(name)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: o.meta(name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(o.replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

// service exposes the pods' REST and gRPC ports in the cluster.
func (o *k8sOptions) service(name string) *corev1.Service {
	grpcProto := "grpc"
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: o.meta(name),
		Spec: corev1.ServiceSpec{
			Selector: k8sLabels(name),
			Ports: []corev1.ServicePort{
				{Name: "http", Port: k8sHTTPPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "grpc", Port: k8sGRPCPort, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: &grpcProto},
			},
		},
	}
}
