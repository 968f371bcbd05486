//! `rizzler [--port 6379] [--bind 0.0.0.0] [--io auto|uring|epoll] …`

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;

use rizzler::config::Config;
use rizzler::net;
use rizzler::server::Server;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RIZZLER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(msg) if msg == "version" => {
            println!("rizzler {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) if msg == "help" => {
            println!("usage: rizzler [--port N] [--bind ADDR ...] [--io auto|uring|epoll] [--<config-name> <value> ...]");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("rizzler: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            tracing::error!("{msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<(), String> {
    let addrs = net::listen_addrs(&config)?;
    let listeners = addrs
        .iter()
        .map(|a| std::net::TcpListener::bind(a).map_err(|e| format!("can't listen on {a}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let backend = "epoll";
    tracing::info!(
        "rizzler {} starting: io backend {backend}, listening on {}, pid {}",
        env!("CARGO_PKG_VERSION"),
        addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        std::process::id()
    );
    let server = Rc::new(RefCell::new(Server::new(config, backend)));
    net::epoll::run(server, listeners).map_err(|e| format!("server error: {e}"))
}
