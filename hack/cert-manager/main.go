// Command cert-manager-controller runs cert-manager's own controllers (github.com/cert-manager/cert-manager/pkg/controller,
// the version in go.mod) as a host process against a local kube-apiserver, for tests: Issuers, ClusterIssuers and
// Certificates get real kubernetes.io/tls Secrets, issued and renewed by the upstream code.
//
// Why a main of our own: upstream's main lives in the module github.com/cert-manager/cert-manager/cmd/controller, which
// the Go module proxy does not serve. This is the core of its cmd/controller/app: one ContextFactory, the registered
// controller constructors, the shared informer factories started after every controller has asked for its informers.
// Left out: leader election, the healthz/pprof servers, the config file, and the ACME/Vault/Venafi/shim/CSR controllers.
// cert-manager's webhook is not run either: nothing here needs it (it validates, and fills CertificateRequest
// spec.username/groups, which only approval policies read; the approver controller here approves every request).
//
// Usage: cert-manager-controller --kubeconfig PATH [--cluster-resource-namespace cert-manager] [--metrics-addr ADDR] [--v N]
// Logs go to stderr (klog). SIGINT/SIGTERM stop the controllers and exit 0; fatal errors exit 1 with a message.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	// Each controller package registers its constructor with controller.Register in init(); each issuer package
	// registers its Issuer implementation (used by the issuers/clusterissuers controllers for the Ready condition).
	crapprover "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// The controllers we run. Without the approver, every CertificateRequest would wait forever for its Approved condition.
var enabled = []string{
	issuers.ControllerName, clusterissuers.ControllerName,
	crapprover.ControllerName, crca.CRControllerName, crselfsigned.CRControllerName,
	trigger.ControllerName, keymanager.ControllerName, requestmanager.ControllerName,
	readiness.ControllerName, issuing.ControllerName, revisionmanager.ControllerName,
	certmetrics.ControllerName,
}

// The resources the informers list; without the CRDs the caches never sync and the process would hang silently.
var requiredResources = []string{"certificates", "certificaterequests", "issuers", "clusterissuers"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager-controller: error: %v\n", err)
		klog.Flush()
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster (required)")
	clusterNS := flag.String("cluster-resource-namespace", "cert-manager", "namespace of the Secrets ClusterIssuers refer to (e.g. a CA issuer's key pair)")
	metricsAddr := flag.String("metrics-addr", "", "serve Prometheus /metrics on this address (e.g. 127.0.0.1:0); empty: disabled")
	workers := flag.Int("workers", 5, "workers per controller (upstream default)")
	version := flag.Bool("version", false, "print the cert-manager version and exit")
	verbosity := flag.Int("v", 2, "log verbosity (cert-manager: 2 info, 4 debug)")
	flag.Parse()
	if *version {
		fmt.Printf("cert-manager-controller cert-manager %s\ncontrollers: %s\n", util.AppVersion, strings.Join(enabled, " "))
		return nil
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", flag.Args())
	}

	// klog (via cert-manager's logr) writes text to stderr by default; only the verbosity is ours to set.
	kfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(kfs)
	_ = kfs.Set("v", fmt.Sprint(*verbosity))
	logf.InitLogs()
	defer logf.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)

	// Upstream's defaults (internal/apis/config/controller/v1alpha1/defaults.go) for what these controllers read.
	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        *clusterNS,
			ClusterIssuerAmbientCredentials: true,
		},
		CertificateOptions: controller.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}
	cctx, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	// Fail fast when the API server is unreachable or the CRDs are missing.
	res, err := cctx.Client.Discovery().ServerResourcesForGroupVersion("cert-manager.io/v1")
	if err != nil {
		return fmt.Errorf("cert-manager.io/v1 not served by the API server (apply the CRDs first): %w", err)
	}
	for _, want := range requiredResources {
		if !slices.ContainsFunc(res.APIResources, func(r metav1.APIResource) bool { return r.Name == want }) {
			return fmt.Errorf("CRD %s.cert-manager.io is not installed", want)
		}
	}

	var ln net.Listener // before the controllers start, so that a busy address fails at once
	if *metricsAddr != "" {
		if ln, err = net.Listen("tcp", *metricsAddr); err != nil {
			return fmt.Errorf("metrics listener on %s: %w", *metricsAddr, err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(enabled))
	known := controller.Known()
	for _, name := range enabled {
		constructor, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not registered", name)
		}
		iface, err := constructor(factory)
		if err != nil {
			return fmt.Errorf("creating controller %s: %w", name, err)
		}
		wg.Go(func() {
			if err := iface.Run(*workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		})
	}
	log.V(logf.InfoLevel).Info("starting controllers", "controllers", enabled, "clusterResourceNamespace", *clusterNS)

	var metricsErr chan error
	if ln != nil {
		// As upstream: the certmanager_certificate_*/issuer collectors read the controllers' listers.
		cm := cctx.SharedInformerFactory.Certmanager().V1()
		cctx.Metrics.SetupCertificateCollector(cm.Certificates().Lister())
		cctx.Metrics.SetupIssuerCollector(cm.Issuers().Lister())
		cctx.Metrics.SetupClusterIssuerCollector(cm.ClusterIssuers().Lister())
		srv := cctx.Metrics.NewServer(ln)
		metricsErr = make(chan error, 1)
		go func() { metricsErr <- srv.Serve(ln) }()
		defer srv.Close()
		log.V(logf.InfoLevel).Info("serving metrics", "address", "http://"+ln.Addr().String()+"/metrics")
	}

	// Informers are started only now, so that every controller has registered the informers it needs.
	cctx.KubeSharedInformerFactory.Start(ctx.Done())
	cctx.SharedInformerFactory.Start(ctx.Done())

	// A line tests can wait for: every informer has listed, the controllers are working.
	go func() {
		cctx.SharedInformerFactory.WaitForCacheSync(ctx.Done())
		cctx.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done())
		if ctx.Err() == nil {
			log.V(logf.ErrorLevel).Info("caches synced, controllers running")
		}
	}()

	select {
	case <-ctx.Done():
	case err := <-errs:
		stop()
		wg.Wait()
		return err
	case err := <-metricsErr:
		stop()
		wg.Wait()
		return fmt.Errorf("metrics server: %w", err)
	}
	log.V(logf.ErrorLevel).Info("signal received, stopping controllers")
	wg.Wait()
	cctx.SharedInformerFactory.Shutdown()
	cctx.KubeSharedInformerFactory.Shutdown()
	log.V(logf.ErrorLevel).Info("stopped")
	return nil
}
