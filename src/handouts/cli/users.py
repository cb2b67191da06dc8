"""`handouts users add|list|remove`: staff accounts for the front desk's login (users.json)."""

from __future__ import annotations

import sys

import click

from handouts.cli.common import project_of, spell_as
from handouts.errors import UsageError


@click.group("users")
def users() -> None:
    """Staff accounts for the front desk's login (stored in users.json, never handouts.yaml)."""


@users.command("add")
@click.argument("name")
@click.option("--password-env", metavar="VAR", help="Take the password from $VAR instead of asking.")
@click.option("--replace", is_flag=True, help="Set a new password for an account that exists.")
@click.pass_context
def users_add(ctx: click.Context, name: str, password_env: str | None, replace: bool) -> None:
    """Add an account (or --replace its password); asks for the password on the terminal."""
    from handouts.web.users import Users, check_name, check_password, password_from_env

    spell_as(ctx, name="NAME", password="password")  # an argument, and a prompt or $VAR
    project = project_of(ctx)
    store = Users.of_project(project.root)
    check_name(name)
    if password_env:
        password = password_from_env(password_env)
    else:
        if not sys.stdin.isatty():
            raise UsageError(
                "{field}: no terminal to ask for the password; pass {field} VAR",
                field="password_env",
                code="no-terminal",
            )
        password = check_password(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    stored = store.add(name, password, replace)
    click.echo(f"{'changed' if replace else 'added'} {stored} in {project.rel(store.path)}", err=True)


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List the accounts (names only)."""
    from handouts.web.users import Users

    names = Users.of_project(project_of(ctx).root).names()
    for name in names:
        click.echo(name)
    if not names:
        click.echo("no accounts yet: add one with 'handouts users add NAME'", err=True)


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Remove an account; its sessions end at their next request."""
    from handouts.web.users import Users

    spell_as(ctx, name="NAME")
    store = Users.of_project(project_of(ctx).root)
    click.echo(f"removed {store.remove(name)}", err=True)
