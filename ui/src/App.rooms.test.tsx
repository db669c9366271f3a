// Rooms and direct messages: making, joining, leaving, topics, DMs.
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import { roomState } from './test-fixtures';
import { installAppHooks, setup, called, send, renderChat, message, nav, entry, header, entered } from './test-app';

installAppHooks();

describe('rooms and direct messages', () => {
  test('a new room: lowercase name, refusals shown in the dialog, then it opens', async () => {
    let attempts = 0;
    setup({
      handlers: {
        create_room: (a) => {
          attempts += 1;
          if (attempts === 1) throw { kind: 'refused', message: 'a room with that name exists' };
          return entered(roomState(a.room as string, 0, 0, 0, 0, { topic: a.topic as string, members: ['alice'] }));
        },
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'New room' }));
    const dialog = screen.getByRole('dialog', { name: 'New room' });
    const name = within(dialog).getByLabelText('Name');
    expect(name).toHaveFocus();
    await user.type(name, 'Bad Name');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('lowercase letters');
    expect(called('create_room')).toHaveLength(0);
    await user.clear(name);
    await user.type(name, 'OPS');
    expect(name).toHaveValue('ops');
    await user.type(within(dialog).getByLabelText('Topic'), 'deploys');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('a room with that name exists');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(called('create_room').at(-1)?.args).toEqual({ room: 'ops', topic: 'deploys' });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(within(header()).getByTestId('room-topic')).toHaveTextContent('deploys');
    expect(entry('ops')).toHaveAttribute('aria-current', 'page');
  });

  test('browse rooms lists them; Join opens the room', async () => {
    setup({
      handlers: {
        list_rooms: () => ({ ok: true, rooms: [{ room: 'ops', topic: 'deploys', members: 3, joined: false }, { room: 'random', topic: '', members: 1, joined: true }] }),
        join_room: (a) => entered(roomState(a.room as string, 1, 1, 0, 0, { topic: 'deploys', members: ['alice', 'bob', 'carol'] }), [{ ...message(1, 'bob', 'welcome'), room: 'ops' }]),
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Browse rooms' }));
    const dialog = screen.getByRole('dialog', { name: 'Browse rooms' });
    expect(await within(dialog).findByText('deploys')).toBeInTheDocument();
    expect(within(dialog).getByText('3 members')).toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Open random' })).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Join ops' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(called('join_room')[0]?.args).toEqual({ room: 'ops' });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(screen.getByText('welcome')).toBeInTheDocument();
    const people = screen.getByRole('complementary', { name: 'People' });
    expect(people).toHaveTextContent('Members · 3');
    expect(within(people).getByRole('button', { name: 'Message carol' })).toBeInTheDocument();
  });

  test("a person's Message button opens the DM, shown as their name", async () => {
    setup({ handlers: { open_dm: (a) => entered(roomState('dm:7', 0, 0, 0, 0, { kind: 'dm', members: ['alice', a.username as string] })) } });
    const user = userEvent.setup();
    await renderChat();
    await user.click(within(screen.getByRole('complementary', { name: 'People' })).getByRole('button', { name: 'Message bob' }));
    expect(called('open_dm')[0]?.args).toEqual({ username: 'bob' });
    await waitFor(() => expect(within(header()).getByRole('heading', { name: 'bob' })).toBeInTheDocument());
    expect(entry('dm:7')).toHaveAttribute('aria-current', 'page');
    expect(within(header()).queryByRole('button', { name: 'Edit topic' })).not.toBeInTheDocument();
  });

  test('New message offers the owned names online first, then those of my rooms and DMs (not me, not guests)', async () => {
    setup({ handlers: { open_dm: (a) => entered(roomState('dm:8', 0, 0, 0, 0, { kind: 'dm', members: ['alice', a.username as string] })) } });
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'rooms',
      rooms: [
        roomState('general', 0, 0, 0, 0, { members: [] }),
        roomState('ops', 0, 0, 0, 0, { members: ['alice', 'Bob', 'carol', 'tut'] }),
        roomState('dm:4', 0, 0, 0, 0, { kind: 'dm', members: ['alice', 'dave'] }),
      ],
    });
    await send({ event: 'users', users: ['alice', 'bob', 'tut'], guests: ['tut'] });
    await user.click(screen.getByRole('button', { name: 'New message' }));
    const dialog = screen.getByRole('dialog', { name: 'New message' });
    const picks = within(within(dialog).getByRole('list', { name: 'People' })).getAllByRole('button');
    expect(picks.map((b) => b.textContent)).toEqual(['bob, online', 'carol', 'dave']);
    expect(picks[0]).toHaveAccessibleName('bob, online');
    await user.type(within(dialog).getByLabelText('To'), 'ca');
    expect(within(dialog).getAllByRole('button', { name: /^carol/ })).toHaveLength(1);
    await user.click(within(dialog).getByRole('button', { name: 'carol' }));
    expect(called('open_dm')[0]?.args).toEqual({ username: 'carol' });
    await waitFor(() => expect(within(header()).getByRole('heading', { name: 'carol' })).toBeInTheDocument());
  });

  test('the topic is edited in place; Leave asks, then goes back to general', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0, 0, { topic: 'deploys' })] });
    await user.click(entry('ops'));
    expect(within(header()).getByTestId('room-topic')).toHaveTextContent('deploys');
    await user.click(within(header()).getByRole('button', { name: 'Edit topic' }));
    const topic = within(header()).getByLabelText('Topic');
    await user.clear(topic);
    await user.type(topic, 'on call{Enter}');
    expect(called('set_topic')[0]?.args).toEqual({ room: 'ops', topic: 'on call' });
    await waitFor(() => expect(within(header()).getByTestId('room-topic')).toHaveTextContent('on call'));
    const edit = within(header()).getByRole('button', { name: 'Edit topic' });
    expect(edit).toHaveFocus();
    // Escape and Cancel give the focus back too.
    await user.click(edit);
    await user.keyboard('{Escape}');
    expect(within(header()).getByRole('button', { name: 'Edit topic' })).toHaveFocus();
    await user.click(within(header()).getByRole('button', { name: 'Edit topic' }));
    await user.click(within(header()).getByRole('button', { name: 'Cancel' }));
    expect(within(header()).getByRole('button', { name: 'Edit topic' })).toHaveFocus();

    await user.click(within(header()).getByRole('button', { name: 'Leave' }));
    const dialog = screen.getByRole('dialog', { name: 'Leave #ops?' });
    expect(within(dialog).getByRole('button', { name: 'Stay' })).toHaveFocus();
    await user.click(within(dialog).getByRole('button', { name: 'Leave' }));
    await waitFor(() => expect(within(header()).getByRole('heading', { name: '#general' })).toBeInTheDocument());
    expect(called('leave_room')[0]?.args).toEqual({ room: 'ops' });
    expect(nav().querySelector('[data-room="ops"]')).toBeNull();
    expect(within(header()).queryByRole('button', { name: 'Leave' })).not.toBeInTheDocument();
  });
});
