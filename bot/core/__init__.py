"""The conversation core: one command table, one dispatcher, one outgoing boundary.

Public API for doors (Telegram, console, CLI, WeCom):

- :class:`bot.core.dispatcher.Dispatcher` (built once by :class:`bot.services.Services`,
  ``services.dispatcher``): ``handle(channel, external_id, message) -> Reply``, with
  ``message`` one of ``Text``, ``CommandCall``, ``Press``, ``Upload``, ``Unsupported``;
  ``caller(channel, external_id)``, ``commands_for(caller)``, ``refuse_upload(...)``.
- :class:`bot.core.reply.Reply` (text in Telegram-subset HTML, ``rows`` of ``Button``,
  ``show``: message / replace / popup, ``attachments``) and ``Reply.plain``.
- :func:`bot.core.boundary.outgoing` / :func:`bot.core.boundary.seal`: the one masking
  boundary every outgoing text passes.
- :mod:`bot.core.commands`: the command and button tables.
- :class:`bot.core.errors.UserError`: what a user got wrong, one Chinese sentence.
"""
