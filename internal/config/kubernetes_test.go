// The Kubernetes manifests (deploy/kubernetes) are decoded strictly (an
// unknown or misspelt field fails) and checked to fit together and to fit the
// program's configuration. The test lives with the configuration it parses.
package config_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/passcodebot/passcodebot/internal/config"
	"github.com/passcodebot/passcodebot/postgres"
)

type meta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type head struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type configMap struct {
	head     `yaml:",inline"`
	Metadata meta              `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	head       `yaml:",inline"`
	Metadata   meta              `yaml:"metadata"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
}

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		SecretRef struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe probe `yaml:"readinessProbe"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type deployment struct {
	head     `yaml:",inline"`
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		Replicas int      `yaml:"replicas"`
		Selector selector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       string `yaml:"maxSurge"`
				MaxUnavailable string `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata meta `yaml:"metadata"`
			Spec     struct {
				AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds int   `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot   bool `yaml:"runAsNonRoot"`
					RunAsUser      int  `yaml:"runAsUser"`
					RunAsGroup     int  `yaml:"runAsGroup"`
					SeccompProfile struct {
						Type string `yaml:"type"`
					} `yaml:"seccompProfile"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	head     `yaml:",inline"`
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type pdb struct {
	head     `yaml:",inline"`
	Metadata meta `yaml:"metadata"`
	Spec     struct {
		MaxUnavailable             int      `yaml:"maxUnavailable"`
		UnhealthyPodEvictionPolicy string   `yaml:"unhealthyPodEvictionPolicy"`
		Selector                   selector `yaml:"selector"`
	} `yaml:"spec"`
}

// decode reads one manifest strictly into v, and checks its kind.
func decode(t *testing.T, file, apiVersion, kind string, v any) {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/kubernetes/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var h head
	if err := yaml.Unmarshal(raw, &h); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if h.APIVersion != apiVersion || h.Kind != kind {
		t.Fatalf("%s: %s %s, want %s %s", file, h.APIVersion, h.Kind, apiVersion, kind)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: more than one document", file)
	}
}

func TestKubernetesManifests(t *testing.T) {
	var (
		cm  configMap
		sec secret
		dep deployment
		svc service
		bud pdb
	)
	decode(t, "configmap.yaml", "v1", "ConfigMap", &cm)
	decode(t, "secret.example.yaml", "v1", "Secret", &sec)
	decode(t, "deployment.yaml", "apps/v1", "Deployment", &dep)
	decode(t, "service.yaml", "v1", "Service", &svc)
	decode(t, "pdb.yaml", "policy/v1", "PodDisruptionBudget", &bud)

	// The configuration is valid for the program, and uses PostgreSQL.
	cfg, err := config.Parse([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("configmap config.yaml: %v", err)
	}
	if cfg.Store != "postgres" {
		t.Errorf("store = %q, want postgres for replicas", cfg.Store)
	}

	s := dep.Spec
	if s.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", s.Replicas)
	}
	labels := s.Template.Metadata.Labels
	for what, sel := range map[string]map[string]string{"deployment": s.Selector.MatchLabels, "service": svc.Spec.Selector, "pdb": bud.Spec.Selector.MatchLabels} {
		if len(sel) == 0 {
			t.Errorf("%s: empty selector", what)
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s selector %s=%s does not select the pods", what, k, v)
			}
		}
	}
	if bud.Spec.MaxUnavailable != 1 || bud.Spec.UnhealthyPodEvictionPolicy != "AlwaysAllow" {
		t.Errorf("pdb: %+v", bud.Spec)
	}
	ps := s.Template.Spec
	if !ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == 0 || ps.SecurityContext.RunAsGroup == 0 {
		t.Errorf("pod security context: %+v", ps.SecurityContext)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it does not need")
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	c := ps.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	if ports["http"] != port(cfg.HTTP.Listen) || ports["admin"] != port(cfg.HTTP.AdminListen) {
		t.Errorf("container ports %v do not match http.listen %s and http.admin_listen %s", ports, cfg.HTTP.Listen, cfg.HTTP.AdminListen)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %s, liveness %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	for _, p := range []probe{c.ReadinessProbe, c.LivenessProbe} {
		if _, ok := ports[p.HTTPGet.Port]; !ok {
			t.Errorf("probe on port %q, which the container does not have", p.HTTPGet.Port)
		}
	}
	if ports[svc.Spec.Ports[0].TargetPort] == 0 {
		t.Errorf("service targets port %q, which the container does not have", svc.Spec.Ports[0].TargetPort)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources: %+v", c.Resources)
	}
	sc := c.SecurityContext
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("container security context: %+v", sc)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != sec.Metadata.Name {
		t.Errorf("the secrets come from %+v, not the Secret %q", c.EnvFrom, sec.Metadata.Name)
	}
	if len(ps.Volumes) != 1 || ps.Volumes[0].ConfigMap.Name != cm.Metadata.Name || len(c.VolumeMounts) != 1 ||
		c.VolumeMounts[0].Name != ps.Volumes[0].Name || !c.VolumeMounts[0].ReadOnly || c.Args[len(c.Args)-1] != c.VolumeMounts[0].MountPath+"/config.yaml" {
		t.Errorf("the config file is not the mounted ConfigMap: %+v %+v %v", ps.Volumes, c.VolumeMounts, c.Args)
	}
	// Every secret the configuration needs is in the Secret, and nothing else holds one.
	need := []string{postgres.EnvURL, "PASSCODEBOT_SLACK_BOT_TOKEN", "PASSCODEBOT_SLACK_APP_TOKEN",
		"PASSCODEBOT_GRAPH_TENANT_ID", "PASSCODEBOT_GRAPH_CLIENT_ID", "PASSCODEBOT_GRAPH_CLIENT_SECRET",
		"PASSCODEBOT_OIDC_CLIENT_ID", "PASSCODEBOT_OIDC_CLIENT_SECRET"}
	for _, k := range need {
		if _, ok := sec.StringData[k]; !ok {
			t.Errorf("the Secret lacks %s", k)
		}
	}
}
