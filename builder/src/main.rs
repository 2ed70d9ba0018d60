use std::io::Write;

use builder::config::Config;
use builder::{log, service};
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

#[tokio::main]
async fn main() {
    let cfg = Config::parse();
    let jobs = cfg.jobs.max(1);
    let name = cfg.builder_name();
    let ctx = match service::context(cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("builder: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = Vec::new();
    for i in 0..jobs {
        let worker_name = if jobs == 1 {
            name.clone()
        } else {
            format!("{name}/{i}")
        };
        workers.push(tokio::spawn(service::worker(
            ctx.clone(),
            worker_name,
            stop_rx.clone(),
        )));
    }
    log!(
        "leasing from {} as {name} ({jobs} at a time)",
        ctx.cfg.edge_base()
    );
    println!("builder ready");
    let _ = std::io::stdout().flush();

    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            eprintln!("builder: cannot install signal handlers");
            std::process::exit(1);
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    log!("stopping: running builds are abandoned, their leases lapse");
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
}
