package main

import (
	"fmt"
	"os"

	"github.com/assay-eval/assay/pkg/obs"
	"github.com/spf13/cobra"
)

func newHealthCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "health [--metrics-addr ADDR]",
		Short: "Ask a running assay up whether it is ready: exit 0 when it is, 1 when not",
		Long: `Asks the /readyz of an assay up (or a stage) serving its metrics on
--metrics-addr (env ASSAY_METRICS_ADDR, default 127.0.0.1:9090; an address on
every interface, 0.0.0.0:9090, is asked on loopback): ready is connected to
NATS with JetStream answering. It is the images' health check, run inside
the container where no curl is; it exits 0 when the process answers "ok",
and 1, saying why, when it does not answer or is not ready.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := obs.Check(cmd.Context(), addr); err != nil {
				// A health check's failure is exit status 1, whatever
				// assay's other commands use.
				fmt.Fprintf(cmd.ErrOrStderr(), "assay: unhealthy: %v\n", err)
				os.Exit(1)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "metrics-addr", defaultUpConfig(os.Getenv).MetricsAddr, "the process's metrics address (env ASSAY_METRICS_ADDR)")
	return cmd
}
